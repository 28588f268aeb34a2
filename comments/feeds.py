from django.conf import settings
from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from blog.models import Article

from .models import Comment

FEED_SIZE = 50


class LatestCommentsFeed(Feed):
    """Approved comments across the site, newest first; nothing unapproved ever appears."""

    feed_type = Atom1Feed

    def title(self):
        return f"{settings.SITE_NAME}: latest perspectives"

    def subtitle(self):
        return "Readers' comments, as published after moderation"

    def link(self):
        return reverse("blog:article-list")

    def items(self):
        return (
            Comment.objects.approved()
            .filter(article__in=Article.objects.published())
            .select_related("article")
            .order_by("-created_at")[:FEED_SIZE]
        )

    def item_title(self, item):
        return f"{item.author_name} on “{item.article.title}”"

    def item_description(self, item):
        return item.body_html

    def item_link(self, item):
        return item.get_absolute_url()

    def item_author_name(self, item):
        return item.author_name

    def item_pubdate(self, item):
        return item.created_at

    def item_updateddate(self, item):
        return item.moderated_at or item.created_at


class ArticleCommentsFeed(LatestCommentsFeed):
    """Approved comments on one published article."""

    def get_object(self, request, slug):
        return get_object_or_404(Article.objects.published(), slug=slug)

    def title(self, obj):
        return f"Perspectives on “{obj.title}”"

    def link(self, obj):
        return obj.get_absolute_url() + "#comments"

    def items(self, obj):
        return (
            Comment.objects.approved()
            .filter(article=obj)
            .select_related("article")
            .order_by("-created_at")[:FEED_SIZE]
        )
