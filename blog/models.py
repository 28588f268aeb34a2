import math
import re
from functools import reduce
from html import unescape
from operator import or_

from django.conf import settings
from django.contrib.postgres.search import (
    SearchHeadline,
    SearchQuery,
    SearchRank,
    SearchVector,
    SearchVectorField,
)
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connections, models, transaction
from django.db.models import Case, F, FloatField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Lower, Replace
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.text import Truncator, slugify
from markdownx.models import MarkdownxField

from .rendering import render_markdown

WORDS_PER_MINUTE = 230

# The text search configuration of the search vector and of queries on PostgreSQL.
SEARCH_CONFIG = "english"
# Private-use characters bracket the matches in a search snippet. Article text never holds
# them (refresh_search_index drops any), so a snippet can be escaped first and marked after.
HIGHLIGHT_START, HIGHLIGHT_STOP = "\ue000", "\ue001"
# PostgreSQL's ts_headline drops whatever looks like an HTML tag; the snippet is made with
# these in place of < and >, so that text such as "<script>" comes back whole, to be escaped.
_ANGLE_OPEN, _ANGLE_CLOSE = "\ue002", "\ue003"
_PRIVATE_MARKERS = {
    ord(c): None for c in HIGHLIGHT_START + HIGHLIGHT_STOP + _ANGLE_OPEN + _ANGLE_CLOSE
}
SEARCH_MAX_TERMS = 10


class Tag(models.Model):
    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("blog:tag-detail", kwargs={"slug": self.slug})


def _with_approved_comment_count(queryset, name):
    """Annotate name with the approved comments of each row, through the reverse relation
    "comments" that the comments app adds; leave the queryset alone where there is none."""
    try:
        relation = queryset.model._meta.get_field("comments")
    except FieldDoesNotExist:
        return queryset
    # A subquery per row rather than a join: it counts through the (row, status) index and
    # never reads the pending and spam comments, however many a row has piled up.
    link = relation.field.name
    approved = (
        relation.related_model._base_manager.filter(**{link: OuterRef("pk")}, status="approved")
        .order_by()
        .values(link)
        .annotate(count=models.Count("*"))
        .values("count")
    )
    return queryset.annotate(**{name: Coalesce(Subquery(approved), 0)})


class ArticleQuerySet(models.QuerySet):
    def published(self):
        """Return the articles readers may see: published, and due by now."""
        return self.filter(status=Article.Status.PUBLISHED, published_at__lte=timezone.now())

    def with_comment_count(self):
        """Annotate comment_count: the approved reader comments on each article.

        The comments app owns that relation (Comment.article, related_name "comments") and blog
        never imports it; without the relation the articles come back without a count.
        """
        return _with_approved_comment_count(self, "comment_count")

    def search(self, text):
        """Return the articles matching text, best first, each annotated with its rank."""
        if connections[self.db].vendor == "postgresql":
            query = SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)
            return (
                self.filter(search_vector=query)
                .annotate(
                    rank=SearchRank(F("search_vector"), query),
                    search_headline=SearchHeadline(
                        Replace(
                            Replace("search_document", Value("<"), Value(_ANGLE_OPEN)),
                            Value(">"),
                            Value(_ANGLE_CLOSE),
                        ),
                        query,
                        config=SEARCH_CONFIG,
                        start_sel=HIGHLIGHT_START,
                        stop_sel=HIGHLIGHT_STOP,
                        max_words=40,
                        min_words=20,
                        max_fragments=2,
                        fragment_delimiter=" … ",
                    ),
                )
                .defer("search_document", "search_vector")
                .order_by("-rank", "-published_at", "-pk")
            )
        # Elsewhere (SQLite) every word must appear somewhere in the stored text; a match in
        # the title ranks first, then one in the headline.
        terms = search_terms(text)
        if not terms:
            return self.none()

        def any_term_in(name):
            return reduce(or_, (Q(**{f"{name}__icontains": term}) for term in terms))

        return (
            self.filter(*(Q(search_document__icontains=term) for term in terms))
            .annotate(
                rank=Case(
                    When(any_term_in("title"), then=Value(2.0)),
                    When(any_term_in("headline"), then=Value(1.0)),
                    default=Value(0.0),
                    output_field=FloatField(),
                )
            )
            .defer("search_vector")
            .order_by("-rank", "-published_at", "-pk")
        )


class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    class Discussion(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed: existing comments stay visible"
        DISABLED = "disabled", "Disabled: no comment area at all"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    kicker = models.CharField(
        max_length=60, default="Blog Post", blank=True, help_text="Short label above the title."
    )
    headline = models.CharField(
        max_length=300, blank=True, help_text="The subtitle shown under the title."
    )
    introduction = MarkdownxField(
        blank=True, help_text="Opening paragraphs, before the first section. Markdown."
    )
    introduction_html = models.TextField(blank=True, editable=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="articles",
        null=True,
        blank=True,
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="articles")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(
        default=timezone.now,
        help_text="A time in the future schedules the article: readers see it from then on.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    discussion = models.CharField(
        "comments",
        max_length=10,
        choices=Discussion.choices,
        default=Discussion.OPEN,
        help_text="Whether readers may add perspectives to this article.",
    )
    comments_close_at = models.DateTimeField(
        "close comments at",
        null=True,
        blank=True,
        help_text="Optional: close this article's comments at this time, "
        "instead of the site-wide number of days after publication.",
    )
    word_count = models.PositiveIntegerField(default=0, editable=False)
    search_document = models.TextField(
        blank=True, editable=False, help_text="The plain text of every part, for search."
    )
    # Weighted tsvector, kept on PostgreSQL only (NULL elsewhere). Its GIN index is made by
    # migration 0002 on PostgreSQL alone: SQLite cannot create a GIN index.
    search_vector = SearchVectorField(null=True, editable=False)

    # Long, and needed only by search: pages that list or show articles leave them unloaded.
    SEARCH_FIELDS = ("search_document", "search_vector")

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at"]
        indexes = [models.Index(fields=["status", "-published_at"], name="article_status_pub_idx")]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.title)[:200]
        self.introduction_html = render_markdown(self.introduction)
        super().save(*args, **kwargs)
        self.loaded_slug = self.slug

    def get_absolute_url(self):
        return reverse("blog:article-detail", kwargs={"slug": self.slug})

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # Remembered so that a cached page under a slug being renamed can be dropped.
        instance.loaded_slug = instance.__dict__.get("slug")
        return instance

    @property
    def is_visible(self):
        return self.status == self.Status.PUBLISHED and self.published_at <= timezone.now()

    @property
    def reading_minutes(self):
        return max(1, math.ceil(self.word_count / WORDS_PER_MINUTE))

    @property
    def excerpt(self):
        text = self.headline or strip_tags(self.introduction_html)
        return Truncator(text).words(40)

    def refresh_word_count(self):
        """Recount the words of the article and its parts; call after saving the sections."""
        parts = [self.title, self.headline, self.introduction_html]
        for section in self.sections.all():
            parts += [section.heading, section.body_html, section.figure_caption]
            parts += [f"{i.audience} {i.action}" for i in section.insights.all()]
            parts += [f"{k.label} {k.text}" for k in section.key_points.all()]
        self.word_count = len(re.findall(r"\w+", strip_tags(" ".join(parts))))
        Article.objects.filter(pk=self.pk).update(word_count=self.word_count)

    def refresh_search_index(self):
        """Rebuild the stored search text, and on PostgreSQL its vector; call after the sections."""
        # Weights: A title and headline, B section headings and insights, C the running text.
        weighted = {
            "A": [self.title, self.headline],
            "B": [],
            "C": [_plain(self.introduction_html)],
        }
        document = [self.title, self.headline, weighted["C"][0]]
        sections = self.sections.prefetch_related("insights", "key_points")
        for section in sections:
            insights = [f"{i.audience} {i.action}" for i in section.insights.all()]
            key_points = [f"{k.label}: {k.text}" for k in section.key_points.all()]
            body = [_plain(section.body_html), *key_points, section.figure_caption]
            weighted["B"] += [section.heading, *insights]
            weighted["C"] += body
            document += [section.heading, body[0], *insights, *key_points, section.figure_caption]
        self.search_document = _joined(document)
        fields = {"search_document": self.search_document}
        if connections[Article.objects.db].vendor == "postgresql":
            fields["search_vector"] = reduce(
                lambda vector, other: vector + other,
                (
                    SearchVector(Value(_joined(parts)), weight=weight, config=SEARCH_CONFIG)
                    for weight, parts in weighted.items()
                ),
            )
        Article.objects.filter(pk=self.pk).update(**fields)

    def search_snippet(self, text):
        """Return a passage around the matches of text, each between the HIGHLIGHT markers."""
        if hasattr(self, "search_headline"):  # PostgreSQL's ts_headline, annotated by search()
            return self.search_headline.replace(_ANGLE_OPEN, "<").replace(_ANGLE_CLOSE, ">")
        return snippet_around(self.search_document, search_terms(text))


class Section(models.Model):
    class Kind(models.TextChoices):
        BODY = "body", "Body"
        KEY_AXES = "key_axes", "Key-axes summary"
        DISCUSSION = "discussion", "Discussion questions (“Your thoughts”)"
        CALL_TO_ACTION = "call_to_action", "Call to share a perspective"

    class FigurePlacement(models.TextChoices):
        TOP = "top", "Before the text"
        BOTTOM = "bottom", "After the text and insights"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="sections")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.BODY)
    heading = models.CharField(
        max_length=300,
        blank=True,
        help_text="Leave empty for a passage that continues the introduction.",
    )
    anchor = models.SlugField(
        max_length=80, blank=True, help_text="The #fragment readers link to; made from the heading."
    )
    body = MarkdownxField(blank=True, help_text="Markdown; use ### for sub-headings.")
    body_html = models.TextField(blank=True, editable=False)
    figure_image = models.ImageField(upload_to="figures/%Y/", blank=True)
    figure_alt_text = models.CharField(
        "alt text",
        max_length=300,
        blank=True,
        help_text="What the picture shows, for readers who cannot see it. Required with an image.",
    )
    figure_caption = models.CharField("caption", max_length=300, blank=True)
    figure_placement = models.CharField(
        max_length=10, choices=FigurePlacement.choices, default=FigurePlacement.BOTTOM
    )

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["article", "anchor"],
                condition=~models.Q(anchor=""),
                name="section_unique_anchor_per_article",
            )
        ]

    def __str__(self):
        return self.heading or f"Untitled section {self.position}"

    def save(self, *args, **kwargs):
        if self.heading and not self.anchor:
            self.anchor = slugify(self.heading)[:80]
        self.body_html = render_markdown(self.body)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return f"{self.article.get_absolute_url()}#{self.anchor}"

    def clean(self):
        if self.figure_image and not self.figure_alt_text.strip():
            raise ValidationError({"figure_alt_text": "Describe the picture for screen readers."})

    @property
    def is_main(self):
        """A titled body section: the ones the table of contents is made of."""
        return self.kind == self.Kind.BODY and bool(self.heading)


class AudienceQuerySet(models.QuerySet):
    def find_or_create(self, name):
        """Return the audience named name, ignoring case, creating it if there is none."""
        name = name.strip()
        return self.filter(name__iexact=name).first() or self.create(name=name)

    @transaction.atomic
    def merge(self):
        """Move every insight of these audiences to the first of them, delete the others.

        Return the audience that was kept, or None when there was none.
        """
        audiences = list(self)
        if not audiences:
            return None
        kept, *others = audiences
        if others:
            Insight.objects.filter(audience_group__in=others).update(audience_group=kept)
            Audience.objects.filter(pk__in=[other.pk for other in others]).delete()
        return kept


class Audience(models.Model):
    """A group of readers that insights address, such as “Policymakers”, kept by staff.

    An insight keeps its own words for its audience; the group gathers insights whose words
    differ (“Policymakers”, “Defense policymakers”) on one insights page.
    """

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    description = models.TextField(
        blank=True, help_text="Optional: shown at the top of this audience’s insights page."
    )

    objects = AudienceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="audience_unique_name_ignoring_case",
                violation_error_message="An audience with this name already exists.",
            )
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = self._unique_slug()
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("blog:audience-detail", kwargs={"slug": self.slug})

    def _unique_slug(self):
        base = slugify(self.name)[:190] or "audience"
        slug, number = base, 1
        while Audience.objects.filter(slug=slug).exclude(pk=self.pk).exists():
            number += 1
            slug = f"{base}-{number}"
        return slug


class InsightQuerySet(models.QuerySet):
    def published(self):
        """Return the insights of the articles readers may see."""
        return self.filter(section__article__in=Article.objects.published())

    def with_perspective_count(self):
        """Annotate perspective_count: the approved reader comments that answer each insight.

        The comments app owns that relation (Comment.insight, related_name "comments") and blog
        never imports it; without the relation the insights come back without a count.
        """
        return _with_approved_comment_count(self, "perspective_count")


class Insight(models.Model):
    """An actionable insight: what a named audience should do in the light of a section."""

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="insights")
    position = models.PositiveSmallIntegerField(default=0)
    audience = models.CharField(
        max_length=200, help_text="Who should act, e.g. “Policymakers and defense planners”."
    )
    audience_group = models.ForeignKey(
        Audience,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="insights",
        verbose_name="audience group",
        help_text="The audience record this insight is listed under on the insights pages.",
    )
    action = models.TextField(help_text="What they should do, continuing the sentence.")

    objects = InsightQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return f"{self.audience} {Truncator(self.action).words(8)}"


class KeyPoint(models.Model):
    """One labelled point of a summary section, such as the seed's “key axes”."""

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="key_points")
    position = models.PositiveSmallIntegerField(default=0)
    label = models.CharField(max_length=200)
    text = models.TextField()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.label


def _plain(html):
    """Return the text of stored HTML, tags removed and entities decoded."""
    return unescape(strip_tags(html))


def _joined(parts):
    """Join text parts for search, without the highlight markers and with whitespace folded."""
    text = " ".join(part for part in parts if part)
    text = text.translate(_PRIVATE_MARKERS)
    return " ".join(text.split())


def search_terms(text):
    """Return the distinct words of a search, at most SEARCH_MAX_TERMS of them."""
    terms = dict.fromkeys(word.lower() for word in re.findall(r"\w+", text))
    return list(terms)[:SEARCH_MAX_TERMS]


def snippet_around(text, terms, before=90, length=260):
    """Return a passage of text around the first match of terms, matches marked."""
    if not terms:
        return Truncator(text).chars(length)
    pattern = re.compile("|".join(map(re.escape, sorted(terms, key=len, reverse=True))), re.I)
    match = pattern.search(text)
    start = max(0, match.start() - before) if match else 0
    if start:
        # Begin at a word boundary, but never after the match.
        space = text.find(" ", start, match.start())
        start = space + 1 if space >= 0 else start
    end = start + length
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > (match.end() if match else start) else end
    passage = pattern.sub(
        lambda m: f"{HIGHLIGHT_START}{m.group()}{HIGHLIGHT_STOP}", text[start:end]
    )
    return f"{'… ' if start else ''}{passage}{' …' if end < len(text) else ''}"
