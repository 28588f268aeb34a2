from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, Q
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.timesince import timesince

from blog.admin import ArticleAdmin
from blog.cache import bump_article
from blog.models import Article

from .models import Comment, CommentQuerySet, ModerationRules


def log_change(request, objects, message):
    """Record one admin history entry per object, in one query."""
    LogEntry.objects.log_actions(
        user_id=request.user.pk, queryset=objects, action_flag=CHANGE, change_message=message
    )


class StatusFilter(admin.SimpleListFilter):
    """Filter by status; with no choice made, show the moderation queue."""

    title = "status"
    parameter_name = "status"
    ALL = "all"

    def lookups(self, request, model_admin):
        return [*Comment.Status.choices, (self.ALL, "All")]

    def value(self):
        return super().value() or Comment.Status.PENDING

    def queryset(self, request, queryset):
        if self.value() == self.ALL:
            return queryset
        return queryset.filter(status=self.value())

    def choices(self, changelist):
        counts = self.get_facet_queryset(changelist) if changelist.add_facets else {}
        for index, (lookup, title) in enumerate(self.lookup_choices):
            if changelist.add_facets:
                title = f"{title} ({counts.get(f'{index}__c', '-')})"
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["excerpt", "author_name", "author_email", "article", "held_because", "age"]
    list_display_links = ["excerpt"]
    list_filter = [StatusFilter, "article", "created_at"]
    list_select_related = ["article"]
    search_fields = ["author_name", "author_email", "body", "ip_address"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ["approve", "reject", "mark_spam", "return_to_pending"]
    readonly_fields = [
        "article",
        "parent",
        "insight",
        "created_at",
        "moderated_at",
        "moderated_by",
        "ip_address",
        "user_agent",
        "user",
    ]
    fieldsets = [
        (None, {"fields": ["article", "parent", "insight", "created_at"]}),
        ("Comment", {"fields": ["author_name", "author_email", "author_url", "body"]}),
        (
            "Moderation",
            {"fields": ["status", "moderation_reason", "moderated_at", "moderated_by"]},
        ),
        ("Sent from", {"fields": ["ip_address", "user_agent", "user"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request):
        # The list shows each article's title: leave its long text in the database.
        return (
            super()
            .get_queryset(request)
            .defer("article__introduction", "article__introduction_html")
        )

    def get_ordering(self, request):
        """Oldest first in the queue, so nothing waits forever; newest first elsewhere."""
        if request.GET.get(StatusFilter.parameter_name, Comment.Status.PENDING) == "pending":
            return ["created_at", "pk"]
        return ["-created_at", "-pk"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="comment")
    def excerpt(self, obj):
        return obj.excerpt

    @admin.display(description="held because", ordering="moderation_reason")
    def held_because(self, obj):
        return obj.moderation_reason or "—"

    @admin.display(description="age", ordering="created_at")
    def age(self, obj):
        return format_html(
            '<time datetime="{}" title="{}">{}</time>',
            obj.created_at.isoformat(),
            timezone.localtime(obj.created_at).strftime("%Y-%m-%d %H:%M"),
            timesince(obj.created_at),
        )

    def save_model(self, request, obj, form, change):
        if "status" in form.changed_data:
            obj.moderated_at = timezone.now()
            obj.moderated_by = request.user
        super().save_model(request, obj, form, change)

    def _moderate(self, request, queryset, verb, done):
        comments = list(queryset)
        selected = Comment.objects.filter(pk__in=[comment.pk for comment in comments])
        changed = verb(selected, request.user)
        log_change(request, comments, f"{done.capitalize()}.")
        noun = "comment" if changed == 1 else "comments"
        self.message_user(request, f"{changed} {noun} {done}.", messages.SUCCESS)

    @admin.action(permissions=["change"], description="Approve selected comments")
    def approve(self, request, queryset):
        self._moderate(request, queryset, CommentQuerySet.approve, "approved")

    @admin.action(permissions=["change"], description="Reject selected comments")
    def reject(self, request, queryset):
        self._moderate(request, queryset, CommentQuerySet.reject, "rejected")

    @admin.action(permissions=["change"], description="Mark selected comments as spam")
    def mark_spam(self, request, queryset):
        self._moderate(request, queryset, CommentQuerySet.mark_spam, "marked as spam")

    @admin.action(permissions=["change"], description="Return selected comments to pending")
    def return_to_pending(self, request, queryset):
        self._moderate(request, queryset, CommentQuerySet.return_to_pending, "returned to pending")

    def get_urls(self):
        approve = self.admin_site.admin_view(self.approve_view)
        return [
            path("<path:object_id>/approve/", approve, name="comments_comment_approve"),
            *super().get_urls(),
        ]

    def approve_view(self, request, object_id):
        """Approve one comment from its change page, then go back to the queue."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        comment = self.get_object(request, unquote(object_id))
        if comment is None:
            raise Http404("No such comment.")
        if not self.has_change_permission(request, comment):
            raise PermissionDenied
        Comment.objects.filter(pk=comment.pk).approve(request.user)
        log_change(request, [comment], "Approved.")
        self.message_user(
            request, f"The comment by “{comment.author_name}” is approved.", messages.SUCCESS
        )
        return redirect("admin:comments_comment_changelist")


@admin.register(ModerationRules)
class ModerationRulesAdmin(admin.ModelAdmin):
    """One row of rules: the list goes straight to it, and it can be neither added nor deleted."""

    fields = ["max_links", "moderation_words", "disallowed_words", "approve_known_commenters"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        rules = ModerationRules.load()
        return redirect("admin:comments_moderationrules_change", rules.pk)


# The article list gains a pending-comments column and actions to open, close and disable
# threads; blog's admin stays unaware of comments.
admin.site.unregister(Article)


@admin.register(Article)
class ArticleWithCommentsAdmin(ArticleAdmin):
    list_display = [*ArticleAdmin.list_display, "pending_comments"]
    actions = ["open_comments", "close_comments", "disable_comments"]

    def get_queryset(self, request):
        pending = Q(comments__status=Comment.Status.PENDING)
        return (
            super()
            .get_queryset(request)
            .annotate(pending_comment_count=Count("comments", filter=pending))
        )

    @admin.display(description="pending comments", ordering="pending_comment_count")
    def pending_comments(self, obj):
        if not obj.pending_comment_count:
            return 0
        query = urlencode({"article__id__exact": obj.pk, "status": Comment.Status.PENDING})
        return format_html(
            '<a href="{}?{}">{}</a>',
            reverse("admin:comments_comment_changelist"),
            query,
            obj.pending_comment_count,
        )

    def _set_discussion(self, request, queryset, discussion, done):
        articles = list(queryset)
        Article.objects.filter(pk__in=[article.pk for article in articles]).update(
            discussion=discussion
        )
        # update() sends no signals: drop the cached pages of these articles here.
        bump_article(*[article.slug for article in articles])
        log_change(request, articles, f"Comments {done}.")
        noun = "article" if len(articles) == 1 else "articles"
        self.message_user(request, f"Comments {done} on {len(articles)} {noun}.", messages.SUCCESS)

    @admin.action(permissions=["change"], description="Open comments on selected articles")
    def open_comments(self, request, queryset):
        self._set_discussion(request, queryset, Article.Discussion.OPEN, "opened")

    @admin.action(permissions=["change"], description="Close comments on selected articles")
    def close_comments(self, request, queryset):
        self._set_discussion(request, queryset, Article.Discussion.CLOSED, "closed")

    @admin.action(permissions=["change"], description="Disable comments on selected articles")
    def disable_comments(self, request, queryset):
        self._set_discussion(request, queryset, Article.Discussion.DISABLED, "disabled")
