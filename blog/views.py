from django.conf import settings
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.views.generic import DetailView, ListView

from .cache import cached_article_page
from .models import Article, Section, Tag


class PublishedArticleMixin:
    """Show readers published articles only; let staff preview drafts and scheduled ones."""

    def get_queryset(self):
        queryset = Article.objects.select_related("author")
        if self.request.user.is_staff:
            return queryset
        return queryset.published()


class ArticleListView(PublishedArticleMixin, ListView):
    context_object_name = "articles"

    def get_paginate_by(self, queryset):
        return settings.BLOG_ARTICLES_PER_PAGE

    def get_queryset(self):
        return Article.objects.published().select_related("author").prefetch_related("tags")


class TagDetailView(ArticleListView):
    template_name = "blog/tag_detail.html"

    def get_queryset(self):
        self.tag = get_object_or_404(Tag, slug=self.kwargs["slug"])
        return super().get_queryset().filter(tags=self.tag)

    def get_context_data(self, **kwargs):
        return super().get_context_data(tag=self.tag, **kwargs)


@method_decorator(cached_article_page, name="dispatch")
class ArticleDetailView(PublishedArticleMixin, DetailView):
    context_object_name = "article"

    def get_queryset(self):
        sections = Section.objects.prefetch_related("insights", "key_points")
        return (
            super()
            .get_queryset()
            .prefetch_related("tags", Prefetch("sections", queryset=sections))
        )

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        if not self.object.is_visible:
            # A staff preview must never be stored by a shared cache.
            add_never_cache_headers(response)
        return response
