from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.http import urlencode
from django.utils.text import Truncator

from blog.cache import bump_article
from blog.models import Article, Insight
from blog.rendering import render_comment


class CommentQuerySet(models.QuerySet):
    def approved(self):
        """Return the comments readers may see."""
        return self.filter(status=Comment.Status.APPROVED)

    def pending(self):
        """Return the moderation queue: comments waiting for a moderator."""
        return self.filter(status=Comment.Status.PENDING)

    def _moderate(self, status, by, **fields):
        slugs = list(
            Article.objects.filter(comments__in=self).values_list("slug", flat=True).distinct()
        )
        changed = self.update(status=status, moderated_at=timezone.now(), moderated_by=by, **fields)
        # update() sends no signals: drop the cached pages that show these threads here.
        bump_article(*slugs)
        return changed

    def approve(self, by):
        """Publish the comments; return how many were changed."""
        return self._moderate(Comment.Status.APPROVED, by)

    def reject(self, by, reason=""):
        """Refuse the comments, keeping them out of sight; return how many were changed."""
        fields = {"moderation_reason": reason[:200]} if reason else {}
        return self._moderate(Comment.Status.REJECTED, by, **fields)

    def mark_spam(self, by):
        """Flag the comments as spam; return how many were changed."""
        return self._moderate(
            Comment.Status.SPAM, by, moderation_reason="Spam: marked by a moderator"
        )

    def return_to_pending(self, by):
        """Put the comments back in the moderation queue; return how many were changed."""
        return self._moderate(Comment.Status.PENDING, by)


class Comment(models.Model):
    """A reader's perspective on an article, shown once a moderator approves it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        SPAM = "spam", "Spam"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="replies",
        help_text="The comment this one replies to.",
    )
    insight = models.ForeignKey(
        Insight,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="comments",
        help_text="The actionable insight this perspective answers, if any.",
    )
    depth = models.PositiveSmallIntegerField(
        default=0, editable=False, help_text="0 for a top-level comment, 1 for a reply, …"
    )
    author_name = models.CharField("name", max_length=80)
    author_email = models.EmailField("email", max_length=254, help_text="Never shown on the site.")
    author_url = models.URLField(
        "website",
        max_length=200,
        blank=True,
        validators=[
            URLValidator(
                schemes=["http", "https"],
                message="Enter a web address starting with http:// or https://.",
            )
        ],
    )
    body = models.TextField("comment", max_length=5000)
    body_html = models.TextField(blank=True, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    moderated_at = models.DateTimeField(null=True, blank=True, editable=False)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="moderated_comments",
    )
    moderation_reason = models.CharField(
        "reason",
        max_length=200,
        blank=True,
        help_text="Why the comment was held or flagged.",
    )
    ip_address = models.GenericIPAddressField("IP address", null=True, blank=True, editable=False)
    user_agent = models.CharField(max_length=300, blank=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="comments",
        help_text="The signed-in account that wrote the comment, if any.",
    )

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            # The article page: approved comments of one article, oldest first.
            models.Index(
                fields=["article", "status", "created_at"], name="comment_article_status_idx"
            ),
            # The admin changelist filtered by status.
            models.Index(fields=["status", "created_at"], name="comment_status_created_idx"),
            # The moderation queue and the admin index's pending count.
            models.Index(
                fields=["created_at"],
                condition=models.Q(status="pending"),
                name="comment_pending_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "approved", "rejected", "spam"]),
                name="comment_status_valid",
            ),
        ]

    def __str__(self):
        return f"{self.author_name}: {Truncator(self.excerpt).chars(60)}"

    def save(self, *args, **kwargs):
        self.depth = self.parent.depth + 1 if self.parent_id else 0
        self.body_html = render_comment(self.body)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        """Return the comment's permalink, on the page of the thread that shows it."""
        return self.get_thread_url()

    def clean(self):
        errors = {}
        if self.parent_id and self.article_id and self.parent.article_id != self.article_id:
            errors["parent"] = "A reply must belong to the same article as its comment."
        if (
            self.insight_id
            and self.article_id
            and self.insight.section.article_id != self.article_id
        ):
            errors["insight"] = "The insight must belong to this comment’s article."
        if errors:
            raise ValidationError(errors)

    @property
    def excerpt(self):
        return Truncator(strip_tags(self.body_html) or self.body).chars(80)

    @property
    def is_approved(self):
        return self.status == self.Status.APPROVED

    @property
    def is_pending(self):
        return self.status == self.Status.PENDING

    def get_thread_url(self, own_ids=()):
        """Return the article URL with this comment's page and anchor.

        ``own_ids`` are pending comments the reader wrote; their threads are on the reader's
        pages too, so they count when working out which page the comment is on.
        """
        root = self
        while root.parent_id:
            root = root.parent
        visible = models.Q(status=self.Status.APPROVED) | models.Q(
            status__in=OWN_VISIBLE_STATUSES, pk__in=list(own_ids)
        )
        earlier = models.Q(created_at__lt=root.created_at) | models.Q(
            created_at=root.created_at, pk__lt=root.pk
        )
        threads_before = (
            Comment.objects.filter(article_id=root.article_id, parent=None)
            .filter(visible)
            .filter(earlier)
            .count()
        )
        page = threads_before // settings.COMMENTS_PER_PAGE + 1
        query = f"?{urlencode({'cpage': page})}" if page > 1 else ""
        return f"{self.article.get_absolute_url()}{query}#comment-{self.pk}"


# Statuses a reader still sees, marked "awaiting moderation", on their own comments. Spam is
# among them so that a spammer is not told which rule caught them.
OWN_VISIBLE_STATUSES = [Comment.Status.PENDING, Comment.Status.SPAM]


class ModerationRules(models.Model):
    """The site's auto-moderation rules: one row, edited by staff in the admin."""

    max_links = models.PositiveSmallIntegerField(
        "most links allowed",
        default=2,
        help_text="Hold a comment with more links than this in its text.",
    )
    moderation_words = models.TextField(
        blank=True,
        help_text="One word or phrase per line. A comment whose name, email, website, text, "
        "IP address or browser contains one is held for moderation. Matching ignores case "
        "and also matches inside words.",
    )
    disallowed_words = models.TextField(
        blank=True,
        help_text="One word or phrase per line, matched like the moderation words; "
        "a comment containing one is marked as spam.",
    )
    approve_known_commenters = models.BooleanField(
        "approve known commenters",
        default=False,
        help_text="Publish at once a comment whose email address already has an approved "
        "comment, unless another rule holds it.",
    )

    class Meta:
        verbose_name = "moderation rules"
        verbose_name_plural = "moderation rules"

    def __str__(self):
        return "Moderation rules"

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls):
        """Return the rules, creating the row with the defaults the first time."""
        rules, _ = cls.objects.get_or_create(pk=1)
        return rules

    @staticmethod
    def _lines(text):
        return [line.strip() for line in text.splitlines() if line.strip()]

    @property
    def moderation_word_list(self):
        return self._lines(self.moderation_words)

    @property
    def disallowed_word_list(self):
        return self._lines(self.disallowed_words)
