import math
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.text import Truncator, slugify
from markdownx.models import MarkdownxField

from .rendering import render_markdown

WORDS_PER_MINUTE = 230


class Tag(models.Model):
    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("blog:tag-detail", kwargs={"slug": self.slug})


class ArticleQuerySet(models.QuerySet):
    def published(self):
        """Return the articles readers may see: published, and due by now."""
        return self.filter(status=Article.Status.PUBLISHED, published_at__lte=timezone.now())


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

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at"]
        indexes = [models.Index(fields=["status", "-published_at"], name="article_status_pub_idx")]

    def __str__(self):
        return self.title

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # Remembered so that a cached page under a slug being renamed can be dropped.
        instance.loaded_slug = instance.__dict__.get("slug")
        return instance

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.title)[:200]
        self.introduction_html = render_markdown(self.introduction)
        super().save(*args, **kwargs)
        self.loaded_slug = self.slug

    def get_absolute_url(self):
        return reverse("blog:article-detail", kwargs={"slug": self.slug})

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


class Insight(models.Model):
    """An actionable insight: what a named audience should do in the light of a section."""

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="insights")
    position = models.PositiveSmallIntegerField(default=0)
    audience = models.CharField(
        max_length=200, help_text="Who should act, e.g. “Policymakers and defense planners”."
    )
    action = models.TextField(help_text="What they should do, continuing the sentence.")

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
