from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models, transaction
from django.db.models.functions import Lower
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

    def by_email(self, email):
        """Return the comments written with this email address, ignoring case."""
        # Both sides are lowered by the database, so the comparison is the one the
        # comment_email_idx index was built with.
        return self.alias(email_key=Lower("author_email")).filter(
            email_key=Lower(models.Value(email))
        )

    def moderate(self, status, by, *, source=None, reason="", **fields):
        """Set the status, record one ModerationDecision per comment; return how many changed.

        Every moderation path goes through here, so every decision leaves an audit row.
        """
        fields.setdefault("rejection_reason", None)
        now = timezone.now()
        with transaction.atomic():
            # One query for the previous statuses and the pages to refresh; locked on
            # PostgreSQL so that "from" is the status this decision replaced.
            rows = list(
                self.select_for_update(of=("self",))
                .order_by()
                .values_list("pk", "status", "article__slug")
            )
            if not rows:
                return 0
            changed = Comment.objects.filter(pk__in=[pk for pk, _, _ in rows]).update(
                status=status, moderated_at=now, moderated_by=by, **fields
            )
            ModerationDecision.objects.bulk_create(
                ModerationDecision(
                    comment_id=pk,
                    moderator=by,
                    decided_at=now,
                    from_status=previous,
                    to_status=status,
                    reason=reason[:200],
                    source=source or ModerationDecision.Source.ADMIN_ACTION,
                )
                for pk, previous, _ in rows
            )
            published = [pk for pk, previous, _ in rows if previous != Comment.Status.APPROVED]
            if status == Comment.Status.APPROVED and published:
                # Imported here: notifications imports these models.
                from .notifications import send_publication_notices

                transaction.on_commit(partial(send_publication_notices, published))
        # update() sends no signals: drop the cached pages that show these threads here.
        bump_article(*{slug for _, _, slug in rows})
        return changed

    def approve(self, by, *, source=None):
        """Publish the comments; return how many were changed."""
        return self.moderate(Comment.Status.APPROVED, by, source=source)

    def reject(self, by, reason="", *, rejection_reason=None, source=None):
        """Refuse the comments, keeping them out of sight; return how many were changed.

        ``rejection_reason`` is one of the staff's RejectionReasons; the author may see its
        text on their private page.
        """
        fields = {"moderation_reason": reason[:200]} if reason else {}
        return self.moderate(
            Comment.Status.REJECTED,
            by,
            source=source,
            reason=reason or (rejection_reason.label if rejection_reason else ""),
            rejection_reason=rejection_reason,
            **fields,
        )

    def mark_spam(self, by, *, source=None):
        """Flag the comments as spam; return how many were changed."""
        reason = "Spam: marked by a moderator"
        return self.moderate(
            Comment.Status.SPAM, by, source=source, reason=reason, moderation_reason=reason
        )

    def return_to_pending(self, by, *, source=None):
        """Put the comments back in the moderation queue; return how many were changed."""
        return self.moderate(Comment.Status.PENDING, by, source=source)


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
    rejection_reason = models.ForeignKey(
        "RejectionReason",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="comments",
        help_text="Why the comment was not published; its author may see the reason's text.",
    )
    notify_on_publish = models.BooleanField(
        "email me when my comment is published",
        default=False,
        help_text="The author asked for a mail when it is published; sent only to a "
        "confirmed address.",
    )
    notify_on_reply = models.BooleanField(
        "email me when someone replies",
        default=False,
        help_text="The author asked for a mail when a reply is published; sent only to a "
        "confirmed address.",
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
            # A commenter's own page, notifications and the personal-data tools (by_email).
            models.Index(Lower("author_email"), name="comment_email_idx"),
            # The moderation queue's search by address (CommentAdmin.get_search_results).
            models.Index(fields=["ip_address"], name="comment_ip_idx"),
            # purge_ip_addresses: the old comments that still hold an address or a browser.
            models.Index(
                fields=["created_at"],
                condition=models.Q(ip_address__isnull=False) | ~models.Q(user_agent=""),
                name="comment_sent_from_idx",
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
        self.body_html = self.rendered_body()
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

    def rendered_body(self):
        """Return the sanitised HTML of the body as it is now, rendered once per text."""
        # The spam checks count links in the rendering that save() then stores.
        cached = getattr(self, "_rendered_body", None)
        if cached is None or cached[0] != self.body:
            cached = self._rendered_body = (self.body, render_comment(self.body))
        return cached[1]

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


class RejectionReason(models.Model):
    """A reason moderators may give for not publishing a comment, from a list staff keep."""

    label = models.CharField(
        max_length=60,
        unique=True,
        help_text="A few words that complete “declined as …”, e.g. “off-topic”. "
        "Moderators pick from these; the public moderation summary counts by them.",
    )
    public_text = models.CharField(
        "text for the author",
        max_length=300,
        blank=True,
        help_text="Shown to the comment’s author on their private page, e.g. "
        "“Your comment strays too far from the article’s subject.”",
    )
    is_shown_to_author = models.BooleanField(
        "shown to the author",
        default=True,
        help_text="Show the text to the author and name the reason in the article’s "
        "moderation summary. Off: both say only “not published” / “declined”.",
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Lower comes first.")

    class Meta:
        ordering = ["position", "label"]

    def __str__(self):
        return self.label


class ModerationDecision(models.Model):
    """One change of a comment's status: who made it, when, from what to what, and why."""

    class Source(models.TextChoices):
        ADMIN_ACTION = "admin-action", "Admin action"
        CHANGE_PAGE = "change-page", "Change page"
        AUTO_MODERATION = "auto-moderation", "Auto-moderation"
        COMMENTER = "commenter", "Commenter"

    # Not a Comment.Status: the author took the comment back (comments.privacy.withdraw).
    WITHDRAWN = "withdrawn"

    # The trail outlives a deleted comment: the row keeps who decided what, and when.
    comment = models.ForeignKey(
        Comment, on_delete=models.SET_NULL, null=True, related_name="decisions"
    )
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="moderation_decisions",
        help_text="Empty for auto-moderation and for the comment’s author.",
    )
    decided_at = models.DateTimeField(default=timezone.now)
    from_status = models.CharField(
        max_length=10, choices=Comment.Status.choices, blank=True, help_text="Empty: new comment."
    )
    to_status = models.CharField(
        max_length=10, choices=[*Comment.Status.choices, (WITHDRAWN, "Withdrawn")]
    )
    reason = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.ADMIN_ACTION)

    class Meta:
        ordering = ["-decided_at", "-pk"]
        get_latest_by = "decided_at"
        indexes = [
            # A comment's trail on its change page.
            models.Index(fields=["comment", "decided_at"], name="decision_comment_idx"),
            # One moderator's decisions in the admin.
            models.Index(fields=["moderator", "decided_at"], name="decision_moderator_idx"),
        ]

    def __str__(self):
        return f"{self.get_from_status_display() or 'New'} → {self.get_to_status_display()}"


class ConfirmedAddress(models.Model):
    """An email address whose owner opened the signed confirmation link: it may get notices.

    Nothing but the one confirmation mail goes to an address without a row here, so the
    comment form cannot be used to mail strangers. Unsubscribing deletes the row.
    """

    email = models.EmailField(max_length=254, unique=True, help_text="Stored in lower case.")
    confirmed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "confirmed addresses"

    def __str__(self):
        return self.email


class ThreadSettings(models.Model):
    """Comment settings of one article that the blog app need not know about."""

    article = models.OneToOneField(
        Article, on_delete=models.CASCADE, primary_key=True, related_name="comment_settings"
    )
    is_summary_shown = models.BooleanField(
        "public moderation summary",
        null=True,
        blank=True,
        choices=[(None, "Site default"), (True, "Show"), (False, "Hide")],
        help_text="A line under the comments: “42 perspectives received, 30 published, "
        "9 declined as off-topic, 3 spam”.",
    )

    class Meta:
        verbose_name = "comment settings"
        verbose_name_plural = "comment settings"

    def __str__(self):
        return f"Comment settings of “{self.article}”"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        bump_article(self.article.slug)
