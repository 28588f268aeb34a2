from django.conf import settings
from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse_lazy
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import format_html
from django.utils.text import Truncator

from .models import Article, Audience, Insight


class LatestArticlesFeed(Feed):
    link = reverse_lazy("blog:article-list")
    description_template = "blog/feed_description.html"

    def title(self):
        return settings.SITE_NAME

    def description(self):
        return settings.SITE_TAGLINE

    def items(self):
        return (
            Article.objects.published()
            .select_related("author")
            .prefetch_related("tags")
            .defer(*Article.SEARCH_FIELDS)[:20]
        )

    def item_title(self, item):
        return item.title

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.updated_at

    def item_author_name(self, item):
        return item.author.get_full_name() or item.author.get_username() if item.author else None

    def item_categories(self, item):
        return [tag.name for tag in item.tags.all()]


class LatestArticlesAtomFeed(LatestArticlesFeed):
    feed_type = Atom1Feed
    subtitle = LatestArticlesFeed.description


class AudienceInsightsFeed(Feed):
    """The newest published insights addressed to one audience."""

    feed_type = Atom1Feed

    def get_object(self, request, slug):
        return get_object_or_404(Audience, slug=slug)

    def title(self, obj):
        return f"{settings.SITE_NAME}: insights for {obj.name}"

    def link(self, obj):
        return obj.get_absolute_url()

    def subtitle(self, obj):
        return obj.description or f"Actionable insights for {obj.name}, newest first."

    def items(self, obj):
        return (
            Insight.objects.published()
            .filter(audience_group=obj)
            .select_related("section__article")
            .order_by("-section__article__published_at", "section__position", "position")[:30]
        )

    def item_title(self, item):
        return f"{item.audience} {Truncator(item.action).words(12)}"

    def item_description(self, item):
        return format_html(
            "<p><strong>{}</strong> {}</p><p>From “{}”.</p>",
            item.audience,
            item.action,
            item.section.article.title,
        )

    def item_link(self, item):
        # The insight's own anchor on the article page: it is in its section, and unlike the
        # section's anchor it is unique, as every Atom entry id must be.
        return f"{item.section.article.get_absolute_url()}#insight-item-{item.pk}"

    def item_pubdate(self, item):
        return item.section.article.published_at

    def item_updateddate(self, item):
        return item.section.article.updated_at
