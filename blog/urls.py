from django.urls import path

from . import feeds, views

app_name = "blog"

urlpatterns = [
    path("", views.ArticleListView.as_view(), name="article-list"),
    path("articles/<slug:slug>/", views.ArticleDetailView.as_view(), name="article-detail"),
    path("tags/<slug:slug>/", views.TagDetailView.as_view(), name="tag-detail"),
    path("feeds/rss/", feeds.LatestArticlesFeed(), name="feed-rss"),
    path("feeds/atom/", feeds.LatestArticlesAtomFeed(), name="feed-atom"),
    path("insights/", views.InsightListView.as_view(), name="insight-list"),
    path("insights/<slug:slug>/", views.AudienceDetailView.as_view(), name="audience-detail"),
    path("insights/<slug:slug>/feed/", feeds.AudienceInsightsFeed(), name="audience-feed"),
    path("search/", views.SearchView.as_view(), name="search"),
]
