import copy
import ipaddress
import json
import re
from functools import partial

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Count, Q
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.text import Truncator
from django.utils.timesince import timesince

from blog.admin import ArticleAdmin
from blog.cache import bump_article
from blog.models import Article, Insight

from . import dashboard, privacy, queue_tools
from .links import normalise_email
from .models import (
    Comment,
    CommentQuerySet,
    ModerationDecision,
    ModerationRules,
    RejectionReason,
    ThreadSettings,
)


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


class ModerationActionForm(helpers.ActionForm):
    """The changelist's action bar, with the reason the "reject" action gives."""

    rejection_reason = forms.ModelChoiceField(
        RejectionReason.objects.all(),
        required=False,
        label="Reason for rejecting:",
        empty_label="none given",
    )


def commenter_emails(comments):
    """Return the distinct addresses, in lower case, that wrote these comments."""
    emails = {normalise_email(comment.author_email) for comment in comments}
    return sorted(email for email in emails if email)


_WHOLE_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class ArticleFilter(admin.SimpleListFilter):
    """Filter by article, offering the most recent ones (a site may have thousands)."""

    title = "article"
    parameter_name = "article__id__exact"
    SHOWN = 25

    def lookups(self, request, model_admin):
        articles = list(
            Article.objects.order_by("-published_at").values_list("pk", "title")[: self.SHOWN]
        )
        chosen = self.value()
        if chosen and chosen.isdigit() and all(str(pk) != chosen for pk, _ in articles):
            articles += Article.objects.filter(pk=chosen).values_list("pk", "title")
        return articles

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(article_id=self.value())
        return queryset


class InsightFilter(admin.SimpleListFilter):
    """Filter to the perspectives that answer one insight, or any insight at all."""

    title = "insight"
    parameter_name = "insight"
    ANY = "any"

    def lookups(self, request, model_admin):
        chosen = request.GET.get(ArticleFilter.parameter_name, "")
        choices = [(self.ANY, "Any insight")]
        if chosen.isdigit():
            insights = Insight.objects.filter(section__article_id=chosen)
            choices += [(str(i.pk), Truncator(str(i)).chars(60)) for i in insights]
        return choices

    def queryset(self, request, queryset):
        if self.value() == self.ANY:
            return queryset.filter(insight__isnull=False)
        if self.value() and self.value().isdigit():
            return queryset.filter(insight_id=self.value())
        return queryset


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = [
        "excerpt",
        "author_name",
        "author_email",
        "article_link",
        "insight_answered",
        "held_because",
        "age",
    ]
    list_display_links = ["excerpt"]
    # No date_hierarchy: its year list is a DISTINCT over the whole queue on every page.
    list_filter = [StatusFilter, ArticleFilter, InsightFilter, "created_at"]
    list_select_related = ["article", "insight"]
    search_fields = ["author_name", "author_email", "body", "ip_address"]
    show_full_result_count = False
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = [
        "approve",
        "reject",
        "mark_spam",
        "return_to_pending",
        "approve_commenters",
        "export_personal_data",
        "erase_personal_data",
    ]
    action_form = ModerationActionForm
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
        "notify_on_publish",
        "notify_on_reply",
        "decision_trail",
    ]
    fieldsets = [
        (None, {"fields": ["article", "parent", "insight", "created_at"]}),
        ("Comment", {"fields": ["author_name", "author_email", "author_url", "body"]}),
        (
            "Moderation",
            {
                "fields": [
                    "status",
                    "rejection_reason",
                    "moderation_reason",
                    "moderated_at",
                    "moderated_by",
                    "decision_trail",
                ]
            },
        ),
        (
            "Sent from",
            {
                "fields": [
                    "ip_address",
                    "user_agent",
                    "user",
                    "notify_on_publish",
                    "notify_on_reply",
                ],
                "classes": ["collapse"],
            },
        ),
    ]

    class Media:
        # Keyboard shortcuts for the queue; the legend is in the changelist template.
        js = ["comments/admin/queue.js"]
        css = {"all": ["comments/admin/queue.css"]}

    def get_queryset(self, request):
        # The list shows each article's title: leave its long text in the database.
        return (
            super()
            .get_queryset(request)
            .defer(
                "article__introduction",
                "article__introduction_html",
                "article__search_document",
                "article__search_vector",
            )
        )

    def get_search_results(self, request, queryset, search_term):
        """Look up an email address or an IP address exactly, through their indexes.

        Moderators mostly search for a commenter; a substring match over every field would
        read the whole table for that. Any other term searches every field as usual.
        """
        term = search_term.strip()
        if _WHOLE_ADDRESS.fullmatch(term):
            return queryset.by_email(term), False
        try:
            address = ipaddress.ip_address(term)
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(ip_address=str(address)), False

    @admin.display(description="insight")
    def insight_answered(self, obj):
        return Truncator(obj.insight.audience).chars(30) if obj.insight_id else ""

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

    @admin.display(description="article", ordering="article__title")
    def article_link(self, obj):
        """Link the article's public page, opened in a new tab (the queue's "o" key)."""
        return format_html(
            '<a href="{}" target="_blank" rel="noopener" data-queue-open>{}</a>',
            obj.article.get_absolute_url(),
            obj.article,
        )

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

    @admin.display(description="decisions")
    def decision_trail(self, obj):
        """List every moderation decision on the comment, oldest first."""
        decisions = obj.decisions.select_related("moderator").order_by("decided_at", "pk")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{} → {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    timezone.localtime(decision.decided_at).strftime("%Y-%m-%d %H:%M"),
                    decision.get_from_status_display() or "New",
                    decision.get_to_status_display(),
                    decision.moderator or "—",
                    decision.get_source_display(),
                    decision.reason or "—",
                )
                for decision in decisions
            ),
        )
        if not rows:
            return "—"
        return format_html(
            "<table><thead><tr><th>When</th><th>Status</th><th>Who</th><th>How</th>"
            "<th>Reason</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    def save_model(self, request, obj, form, change):
        if not (change and "status" in form.changed_data):
            super().save_model(request, obj, form, change)
            return
        # The new status goes through CommentQuerySet.moderate, which records the decision.
        status, obj.status = obj.status, form.initial["status"]
        super().save_model(request, obj, form, change)
        Comment.objects.filter(pk=obj.pk).moderate(
            status,
            request.user,
            source=ModerationDecision.Source.CHANGE_PAGE,
            reason=obj.moderation_reason
            or (obj.rejection_reason.label if obj.rejection_reason else ""),
            rejection_reason=obj.rejection_reason if status == Comment.Status.REJECTED else None,
        )
        obj.refresh_from_db()

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
        field = ModerationActionForm.base_fields["rejection_reason"]
        try:
            reason = field.clean(request.POST.get("rejection_reason"))
        except ValidationError:
            reason = None
        verb = partial(CommentQuerySet.reject, rejection_reason=reason)
        self._moderate(request, queryset, verb, "rejected")

    @admin.action(permissions=["change"], description="Mark selected comments as spam")
    def mark_spam(self, request, queryset):
        self._moderate(request, queryset, CommentQuerySet.mark_spam, "marked as spam")

    @admin.action(permissions=["change"], description="Return selected comments to pending")
    def return_to_pending(self, request, queryset):
        self._moderate(request, queryset, CommentQuerySet.return_to_pending, "returned to pending")

    @admin.action(
        permissions=["change"], description="Approve all pending from the selected commenters"
    )
    def approve_commenters(self, request, queryset):
        pending = queue_tools.pending_from_commenters(queryset)
        self._moderate(request, pending, CommentQuerySet.approve, "approved")

    @admin.action(permissions=["change"], description="Export personal data for these commenters")
    def export_personal_data(self, request, queryset):
        """Download, as JSON, everything stored for the selected comments' addresses."""
        comments = list(queryset)
        data = {
            "exported_at": timezone.now().isoformat(),
            "addresses": [
                privacy.export_personal_data(email) for email in commenter_emails(comments)
            ],
        }
        log_change(request, comments, "Personal data of its author exported.")
        response = HttpResponse(
            json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
        )
        response["Content-Disposition"] = 'attachment; filename="personal-data.json"'
        return response

    @admin.action(permissions=["delete"], description="Erase personal data for these commenters")
    def erase_personal_data(self, request, queryset):
        """After a confirmation page, anonymise every comment of the selected addresses."""
        comments = list(queryset)
        emails = commenter_emails(comments)
        if request.POST.get("post") == "yes":
            erased = sum(privacy.erase_personal_data(email) for email in emails)
            log_change(
                request,
                list(Comment.objects.filter(pk__in=[c.pk for c in comments])),
                "Personal data of its author erased.",
            )
            noun = "comment" if erased == 1 else "comments"
            addresses = "address" if len(emails) == 1 else "addresses"
            self.message_user(
                request,
                f"Personal data erased from {erased} {noun} of {len(emails)} {addresses}.",
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Erase personal data?",
            "comments": comments,
            "addresses": [(email, Comment.objects.by_email(email).count()) for email in emails],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/comments/comment/erase_personal_data.html", context)

    def get_urls(self):
        approve = self.admin_site.admin_view(self.approve_view)
        view = self.admin_site.admin_view
        return [
            path("dashboard/", view(self.dashboard_view), name="comments_dashboard"),
            path("similar/", view(self.similar_view), name="comments_comment_similar"),
            path("<path:object_id>/approve/", approve, name="comments_comment_approve"),
            path(
                "<path:object_id>/approve-commenter/",
                view(self.approve_commenter_view),
                name="comments_comment_approve_commenter",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            # For the change page's "approve all from this commenter" button.
            context["commenter_pending"] = queue_tools.pending_from_commenters([obj]).count()
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _comment_to_change(self, request, object_id):
        """Return the comment a change-page button acts on, refusing what may not change it."""
        comment = self.get_object(request, unquote(object_id))
        if comment is None:
            raise Http404("No such comment.")
        if not self.has_change_permission(request, comment):
            raise PermissionDenied
        return comment

    def approve_view(self, request, object_id):
        """Approve one comment from its change page, then go back to the queue."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        comment = self._comment_to_change(request, object_id)
        Comment.objects.filter(pk=comment.pk).approve(
            request.user, source=ModerationDecision.Source.CHANGE_PAGE
        )
        log_change(request, [comment], "Approved.")
        self.message_user(
            request, f"The comment by “{comment.author_name}” is approved.", messages.SUCCESS
        )
        return redirect("admin:comments_comment_changelist")

    def approve_commenter_view(self, request, object_id):
        """Approve every pending comment from this comment's email address, then go back."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        comment = self._comment_to_change(request, object_id)
        pending = queue_tools.pending_from_commenters([comment])
        approve = partial(CommentQuerySet.approve, source=ModerationDecision.Source.CHANGE_PAGE)
        self._moderate(request, pending, approve, "approved")
        return redirect("admin:comments_comment_changelist")

    # One decision for a group of similar comments: the bulk actions' verbs and messages.
    GROUP_DECISIONS = {
        "approve": (CommentQuerySet.approve, "approved"),
        "reject": (CommentQuerySet.reject, "rejected"),
        "spam": (CommentQuerySet.mark_spam, "marked as spam"),
    }

    def similar_view(self, request):
        """List pending comments grouped by near-identical text; decide a group in one go."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        article = request.GET.get("article", "")
        article_id = int(article) if article.isdecimal() else None
        if request.method == "POST":
            decision = self.GROUP_DECISIONS.get(request.POST.get("decision"))
            ids = [value for value in request.POST.getlist("comment") if value.isdecimal()]
            if decision is None or not ids:
                self.message_user(request, "No group or decision was chosen.", messages.ERROR)
            else:
                # Only the comments the moderator saw, and only those still waiting.
                verb, done = decision
                self._moderate(request, Comment.objects.pending().filter(pk__in=ids), verb, done)
            return redirect(request.get_full_path())
        pending = queue_tools.pending_for_grouping(article_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Similar pending comments",
            "groups": queue_tools.similar_groups(pending),
            "limit": queue_tools.GROUPING_LIMIT,
            "article_id": article_id,
        }
        return TemplateResponse(request, "admin/comments/similar_groups.html", context)

    def dashboard_view(self, request):
        """Show the moderation record: comments per day, decision times, the queue, reasons."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Moderation record",
            "record": dashboard.record(),
        }
        return TemplateResponse(request, "admin/comments/dashboard.html", context)


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

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and "_dry_run" in request.POST and object_id is not None:
            return self.dry_run_view(request, object_id)
        extra_context = {**(extra_context or {}), "dry_run_size": settings.COMMENTS_DRY_RUN_SIZE}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def dry_run_view(self, request, object_id):
        """Show what the posted rules would have done to recent decisions; save nothing."""
        rules = self.get_object(request, unquote(object_id))
        if rules is None:
            raise Http404("No such rules.")
        if not self.has_change_permission(request, rules):
            raise PermissionDenied
        form_class = self.get_form(request, rules, change=True)
        form = form_class(request.POST, instance=copy.copy(rules))
        report = None
        if form.is_valid():
            # form.instance is the edited copy, never saved; ``rules`` keeps the current values.
            decided = queue_tools.decided_comments()
            report = queue_tools.dry_run(form.instance, decided, current_rules=rules)
        admin_form = helpers.AdminForm(
            form,
            list(self.get_fieldsets(request, rules)),
            {},
            self.get_readonly_fields(request, rules),
            model_admin=self,
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Change {self.opts.verbose_name}",
            "subtitle": str(rules),
            "adminform": admin_form,
            "object_id": object_id,
            "original": rules,
            "is_popup": False,
            "to_field": None,
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            "dry_run": report,
            "dry_run_size": settings.COMMENTS_DRY_RUN_SIZE,
        }
        return self.render_change_form(request, context, change=True, obj=rules)


@admin.register(RejectionReason)
class RejectionReasonAdmin(admin.ModelAdmin):
    list_display = ["label", "public_text", "is_shown_to_author", "position"]
    list_editable = ["position"]
    search_fields = ["label", "public_text"]


@admin.register(ModerationDecision)
class ModerationDecisionAdmin(admin.ModelAdmin):
    """The audit trail: read-only, filterable by moderator and date."""

    list_display = ["decided_at", "comment_link", "change", "moderator", "source", "reason"]
    list_filter = [
        ("moderator", admin.RelatedOnlyFieldListFilter),
        "source",
        "to_status",
        "decided_at",
    ]
    list_select_related = ["comment", "moderator"]
    date_hierarchy = "decided_at"
    search_fields = ["reason", "moderator__username"]
    show_full_result_count = False

    def has_view_permission(self, request, obj=None):
        # Whoever may see the comments may see how they were decided.
        return request.user.has_perm("comments.view_comment") or super().has_view_permission(
            request, obj
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="comment", ordering="comment")
    def comment_link(self, obj):
        if obj.comment_id is None:
            return "(deleted)"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:comments_comment_change", args=[obj.comment_id]),
            obj.comment,
        )

    @admin.display(description="status")
    def change(self, obj):
        return str(obj)


# The article list gains a pending-comments column and actions to open, close and disable
# threads; blog's admin stays unaware of comments.
admin.site.unregister(Article)


@admin.register(Article)
class ArticleWithCommentsAdmin(ArticleAdmin):
    list_display = [*ArticleAdmin.list_display, "pending_comments", "moderation_summary"]
    actions = [
        "open_comments",
        "close_comments",
        "disable_comments",
        "show_moderation_summary",
        "hide_moderation_summary",
        "default_moderation_summary",
    ]

    def get_queryset(self, request):
        pending = Q(comments__status=Comment.Status.PENDING)
        return (
            super()
            .get_queryset(request)
            .annotate(
                pending_comment_count=Count("comments", filter=pending),
                summary_setting=models.F("comment_settings__is_summary_shown"),
            )
        )

    @admin.display(description="moderation summary")
    def moderation_summary(self, obj):
        if obj.summary_setting is None:
            shown = "shown" if settings.COMMENTS_SHOW_MODERATION_SUMMARY else "hidden"
            return f"Site default ({shown})"
        return "Shown" if obj.summary_setting else "Hidden"

    def _set_summary(self, request, queryset, shown, done):
        articles = list(queryset)
        ThreadSettings.objects.bulk_create(
            [ThreadSettings(article=article, is_summary_shown=shown) for article in articles],
            update_conflicts=True,
            unique_fields=["article"],
            update_fields=["is_summary_shown"],
        )
        # bulk_create() calls no save(): drop the cached pages of these articles here.
        bump_article(*[article.slug for article in articles])
        log_change(request, articles, f"Moderation summary {done}.")
        noun = "article" if len(articles) == 1 else "articles"
        self.message_user(
            request, f"Moderation summary {done} on {len(articles)} {noun}.", messages.SUCCESS
        )

    @admin.action(permissions=["change"], description="Show the moderation summary")
    def show_moderation_summary(self, request, queryset):
        self._set_summary(request, queryset, True, "shown")

    @admin.action(permissions=["change"], description="Hide the moderation summary")
    def hide_moderation_summary(self, request, queryset):
        self._set_summary(request, queryset, False, "hidden")

    @admin.action(
        permissions=["change"], description="Use the site default for the moderation summary"
    )
    def default_moderation_summary(self, request, queryset):
        self._set_summary(request, queryset, None, "set to the site default")

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
