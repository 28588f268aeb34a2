from django.urls import path

from . import commenter_views, feeds, views

app_name = "comments"

urlpatterns = [
    path("articles/<slug:slug>/comments/", views.post_comment, name="post"),
    path("articles/<slug:slug>/comments/feed/", feeds.ArticleCommentsFeed(), name="article-feed"),
    path("comments/feed/", feeds.LatestCommentsFeed(), name="feed"),
    # A commenter's own pages, opened by signed links (comments/links.py).
    path("comments/me/", commenter_views.request_link, name="commenter-link-request"),
    path("comments/me/<str:token>/", commenter_views.commenter_home, name="commenter-home"),
    path(
        "comments/me/<str:token>/comments/<int:pk>/edit/",
        commenter_views.edit_comment,
        name="commenter-edit",
    ),
    path(
        "comments/me/<str:token>/comments/<int:pk>/withdraw/",
        commenter_views.withdraw_comment,
        name="commenter-withdraw",
    ),
    path(
        "comments/me/<str:token>/export.json",
        commenter_views.export_comments,
        name="commenter-export",
    ),
    path("comments/me/<str:token>/erase/", commenter_views.erase_comments, name="commenter-erase"),
    path("comments/confirm/<str:token>/", commenter_views.confirm, name="confirm-address"),
    path(
        "comments/unsubscribe/<str:token>/",
        commenter_views.unsubscribe_view,
        name="unsubscribe",
    ),
]
