"""The audit trail: every moderation decision leaves a row, whoever and whatever made it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from comments.models import Comment, ModerationDecision, RejectionReason
from tests.conftest import comment_form_data, make_comment

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:comments_comment_changelist")


def held(article, body="Held.", **fields):
    fields.setdefault("status", Comment.Status.PENDING)
    return make_comment(article, body, **fields)


@pytest.mark.parametrize(
    ("action", "to_status"),
    [
        ("approve", "approved"),
        ("reject", "rejected"),
        ("mark_spam", "spam"),
        ("return_to_pending", "pending"),
        ("approve_commenters", "approved"),
    ],
)
def test_every_admin_action_leaves_one_row_per_comment(
    moderator_client, moderator, article, action, to_status
):
    start = "spam" if to_status == "pending" else "pending"
    comments = [held(article, f"Comment {n}.", status=start) for n in range(2)]
    held(article, "Not selected.", author_email="other@example.org")
    moderator_client.post(
        CHANGELIST + "?status=all",
        {"action": action, "_selected_action": [c.pk for c in comments]},
    )
    decisions = ModerationDecision.objects.order_by("comment_id")
    assert [
        (d.comment_id, d.moderator, d.from_status, d.to_status, d.source) for d in decisions
    ] == [(c.pk, moderator, start, to_status, "admin-action") for c in comments]


def test_reject_with_a_reason_from_the_staff_list(moderator_client, moderator, article):
    off_topic = RejectionReason.objects.create(label="off-topic", public_text="Off the subject.")
    comment = held(article)
    html = moderator_client.get(CHANGELIST).content.decode()
    assert '<select name="rejection_reason"' in html and ">off-topic</option>" in html
    moderator_client.post(
        CHANGELIST,
        {"action": "reject", "_selected_action": [comment.pk], "rejection_reason": off_topic.pk},
    )
    comment.refresh_from_db()
    assert (comment.status, comment.rejection_reason) == ("rejected", off_topic)
    decision = ModerationDecision.objects.get()
    assert (decision.reason, decision.to_status) == ("off-topic", "rejected")
    # Approving later clears the reason: it no longer applies.
    Comment.objects.filter(pk=comment.pk).approve(moderator)
    comment.refresh_from_db()
    assert comment.rejection_reason is None


def test_the_change_page_approve_button_is_recorded(moderator_client, moderator, article):
    comment = held(article)
    moderator_client.post(reverse("admin:comments_comment_approve", args=[comment.pk]))
    decision = ModerationDecision.objects.get()
    assert (decision.comment, decision.moderator, decision.source) == (
        comment,
        moderator,
        "change-page",
    )
    assert (decision.from_status, decision.to_status) == ("pending", "approved")


def test_changing_the_status_on_the_change_page_is_recorded(moderator_client, moderator, article):
    reason = RejectionReason.objects.create(label="personal attack")
    comment = held(article, "Edit me.")
    response = moderator_client.post(
        reverse("admin:comments_comment_change", args=[comment.pk]),
        {
            "author_name": comment.author_name,
            "author_email": comment.author_email,
            "author_url": "",
            "body": "Edit me, edited.",
            "status": "rejected",
            "rejection_reason": reason.pk,
            "moderation_reason": "",
        },
    )
    assert response.status_code == 302
    comment.refresh_from_db()
    assert (comment.status, comment.body, comment.rejection_reason) == (
        "rejected",
        "Edit me, edited.",
        reason,
    )
    assert comment.moderated_by == moderator
    decision = ModerationDecision.objects.get()
    assert (decision.from_status, decision.to_status, decision.source, decision.reason) == (
        "pending",
        "rejected",
        "change-page",
        "personal attack",
    )


def test_saving_the_change_page_without_a_new_status_records_nothing(moderator_client, article):
    comment = held(article)
    moderator_client.post(
        reverse("admin:comments_comment_change", args=[comment.pk]),
        {
            "author_name": "Renamed",
            "author_email": comment.author_email,
            "author_url": "",
            "body": comment.body,
            "status": "pending",
            "moderation_reason": "",
        },
    )
    assert not ModerationDecision.objects.exists()


def test_auto_moderation_at_submission_is_recorded(client, article, settings):
    settings.COMMENTS_RATE_LIMIT = 0
    client.post(reverse("comments:post", kwargs={"slug": article.slug}), comment_form_data(article))
    comment = Comment.objects.get()
    decision = ModerationDecision.objects.get()
    assert (decision.comment, decision.moderator, decision.source) == (
        comment,
        None,
        "auto-moderation",
    )
    assert (decision.from_status, decision.to_status, decision.reason) == (
        "",
        "pending",
        "Awaiting moderation",
    )


def test_previous_statuses_are_read_in_one_query_whatever_the_number(article, moderator):
    def queries_to_approve(count):
        comments = [held(article, f"Batch {count} {n}.") for n in range(count)]
        with CaptureQueriesContext(connection) as queries:
            Comment.objects.filter(pk__in=[c.pk for c in comments]).approve(moderator)
        return len(queries)

    assert queries_to_approve(1) == queries_to_approve(30)
    assert ModerationDecision.objects.count() == 31


def test_the_trail_outlives_a_deleted_comment(article, moderator):
    comment = held(article)
    Comment.objects.filter(pk=comment.pk).reject(moderator, "Off topic")
    comment.delete()
    decision = ModerationDecision.objects.get()
    assert (decision.comment, decision.moderator, decision.reason) == (None, moderator, "Off topic")


# Seeing the trail


def test_the_trail_is_on_the_comment_change_page(moderator_client, moderator, article):
    comment = held(article)
    Comment.objects.filter(pk=comment.pk).reject(moderator, "Too long")
    Comment.objects.filter(pk=comment.pk).approve(moderator)
    html = moderator_client.get(
        reverse("admin:comments_comment_change", args=[comment.pk])
    ).content.decode()
    assert (
        "<td>Pending → Rejected</td><td>moderator</td><td>Admin action</td><td>Too long</td>"
        in html
    )
    assert html.index("Pending → Rejected") < html.index("Rejected → Approved")


def test_decisions_list_filters_by_moderator_and_is_read_only(
    moderator_client, moderator, staff_user, article
):
    first, second = held(article, "One."), held(article, "Two.")
    Comment.objects.filter(pk=first.pk).approve(moderator)
    Comment.objects.filter(pk=second.pk).mark_spam(staff_user)
    url = reverse("admin:comments_moderationdecision_changelist")
    response = moderator_client.get(url, {"moderator__id__exact": moderator.pk})
    assert response.status_code == 200
    assert [d.comment for d in response.context["cl"].result_list] == [first]
    assert moderator_client.get(url, {"decided_at__year": first.created_at.year}).status_code == 200
    html = moderator_client.get(url).content.decode()
    assert "Pending → Spam" in html and "Pending → Approved" in html
    decision = ModerationDecision.objects.get(comment=first)
    change = reverse("admin:comments_moderationdecision_change", args=[decision.pk])
    moderator_client.post(change, {"reason": "Rewritten history"})
    decision.refresh_from_db()
    assert decision.reason == ""
    assert moderator_client.get(reverse("admin:comments_moderationdecision_add")).status_code == 403
