import re
import unicodedata
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Prefetch, prefetch_related_objects
from django.db.models.functions import Coalesce, Lower
from django.shortcuts import get_object_or_404
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.views.generic import DetailView, ListView

from . import structured_data
from .cache import cached_article_page, page_version
from .models import HIGHLIGHT_START, HIGHLIGHT_STOP, Article, Audience, Insight, Section, Tag

SEARCH_MAX_LENGTH = 200
_HIGHLIGHTED = re.compile(f"{HIGHLIGHT_START}(.*?){HIGHLIGHT_STOP}", re.S)
# What an insight listing shows; the long text of its article and section is left unloaded.
_INSIGHT_LISTING_FIELDS = [
    "audience",
    "action",
    "section__heading",
    "section__anchor",
    "section__article__slug",
    "section__article__title",
    "audience_group__name",
    "audience_group__slug",
]


class PublishedArticleMixin:
    """Show readers published articles only; let staff preview drafts and scheduled ones."""

    def get_queryset(self):
        queryset = Article.objects.select_related("author").defer(*Article.SEARCH_FIELDS)
        if self.request.user.is_staff:
            return queryset
        return queryset.published()


class ArticleListView(PublishedArticleMixin, ListView):
    context_object_name = "articles"

    def get_paginate_by(self, queryset):
        return settings.BLOG_ARTICLES_PER_PAGE

    def get_queryset(self):
        return (
            Article.objects.published()
            .select_related("author")
            .prefetch_related("tags")
            .defer(*Article.SEARCH_FIELDS)
        )


class TagDetailView(ArticleListView):
    template_name = "blog/tag_detail.html"

    def get_queryset(self):
        self.tag = get_object_or_404(Tag, slug=self.kwargs["slug"])
        return super().get_queryset().filter(tags=self.tag)

    def get_context_data(self, **kwargs):
        return super().get_context_data(tag=self.tag, **kwargs)


class ArticlePageParts:
    """The article page's parts other than its comments, loaded only when they are rendered.

    The page keeps these parts in fragment caches keyed by the article's page version
    (blog/cache.py), which every change to what they show replaces; on a hit none of the
    queries below run.
    """

    def __init__(self, article, request):
        self._article, self._request = article, request

    @cached_property
    def article(self):
        """The article with its tags, sections, insights (with counts) and key points."""
        insights = Insight.objects.with_perspective_count()
        sections = Section.objects.prefetch_related(
            Prefetch("insights", queryset=insights), "key_points"
        )
        prefetch_related_objects([self._article], "tags", Prefetch("sections", queryset=sections))
        return self._article

    @cached_property
    def share_figure(self):
        return structured_data.first_figure(self.article)

    @cached_property
    def share_image_url(self):
        figure = self.share_figure
        return self._request.build_absolute_uri(figure.figure_image.url) if figure else None

    @cached_property
    def canonical_url(self):
        return self._request.build_absolute_uri(self._article.get_absolute_url())

    @cached_property
    def json_ld(self):
        counted = Article.objects.filter(pk=self._article.pk).with_comment_count()
        comment_count = (
            counted.values_list("comment_count", flat=True).first()
            if ("comment_count" in counted.query.annotations)
            else None
        )
        data = structured_data.article_json_ld(
            self.article,
            url=self.canonical_url,
            image_url=self.share_image_url,
            comment_count=comment_count,
        )
        return structured_data.json_ld_script_text(data)


@method_decorator(cached_article_page, name="dispatch")
class ArticleDetailView(PublishedArticleMixin, DetailView):
    context_object_name = "article"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            parts=ArticlePageParts(self.object, self.request),
            page_version=page_version(self.object.slug),
            fragment_seconds=settings.ARTICLE_FRAGMENT_CACHE_SECONDS,
            **kwargs,
        )

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        if not self.object.is_visible:
            # A staff preview must never be stored by a shared cache.
            add_never_cache_headers(response)
        return response


@dataclass
class AudienceInsights:
    """The insights listed under one audience: its record, or just the words they share."""

    name: str
    audience: Audience | None = None
    insights: list = field(default_factory=list)


def _insights_for_listing():
    return (
        Insight.objects.published()
        .with_perspective_count()
        .select_related("section__article", "audience_group")
        .only(*_INSIGHT_LISTING_FIELDS)
    )


def _by_audience(insights):
    """Group insights by audience record; those without one by their audience words."""
    groups = {}
    for insight in insights:
        group = insight.audience_group
        key = ("record", group.pk) if group else ("words", insight.audience.lower())
        if key not in groups:
            groups[key] = AudienceInsights(group.name if group else insight.audience, group)
        groups[key].insights.append(insight)
    return list(groups.values())


class InsightListView(ListView):
    """Every published actionable insight, grouped by the audience it addresses."""

    template_name = "blog/insight_list.html"
    context_object_name = "insights"

    def get_queryset(self):
        return _insights_for_listing().order_by(
            Lower(Coalesce("audience_group__name", "audience")),
            "-section__article__published_at",
            "section__position",
            "position",
        )

    def get_context_data(self, **kwargs):
        return super().get_context_data(groups=_by_audience(self.object_list), **kwargs)


class AudienceDetailView(DetailView):
    """The published insights addressed to one audience, newest article first."""

    model = Audience
    context_object_name = "audience"

    def get_context_data(self, **kwargs):
        insights = (
            _insights_for_listing()
            .filter(audience_group=self.object)
            .order_by("-section__article__published_at", "section__position", "position")
        )
        group = AudienceInsights(self.object.name, self.object, list(insights))
        return super().get_context_data(groups=[group] if group.insights else [], **kwargs)


def highlighted(text):
    """Return text as HTML, escaped, with the stretches between highlight markers in <mark>."""
    parts = _HIGHLIGHTED.split(text)
    plain = [part.replace(HIGHLIGHT_START, "").replace(HIGHLIGHT_STOP, "") for part in parts[::2]]
    marked = [format_html("<mark>{}</mark>", part) for part in parts[1::2]] + [""]
    return format_html_join("", "{}{}", zip(plain, marked, strict=True))


class SearchView(ListView):
    """Search the published articles: their titles, sections and insights."""

    template_name = "blog/search.html"
    context_object_name = "results"
    paginate_by = 10

    def get(self, request, *args, **kwargs):
        self.query, self.error, self.truncated = self.clean_query(request.GET.get("q", ""))
        return super().get(request, *args, **kwargs)

    @staticmethod
    def clean_query(raw):
        """Return (query, error message, whether the query was shortened) for raw input."""
        if "\x00" in raw:
            return "", "Null characters are not allowed.", False
        # Tabs and line breaks are only spacing; any other control character is refused.
        if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in raw):
            return "", "Control characters are not allowed.", False
        query = " ".join(raw.split())
        if len(query) > SEARCH_MAX_LENGTH:
            return query[:SEARCH_MAX_LENGTH].rstrip(), None, True
        return query, None, False

    def get_queryset(self):
        if not self.query:
            return Article.objects.none()
        return Article.objects.published().search(self.query)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(
            query=self.query,
            error=self.error,
            truncated=self.truncated,
            max_length=SEARCH_MAX_LENGTH,
            **kwargs,
        )
        for article in context["results"]:
            article.snippet = highlighted(article.search_snippet(self.query))
        return context
