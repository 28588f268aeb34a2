"""The rules dry run: candidate rules replayed against comments moderators already decided."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from comments.models import Comment, ModerationRules
from comments.queue_tools import (
    HELD,
    LET_THROUGH,
    SPAMMED,
    decided_comments,
    dry_run,
    known_commenter_test,
)
from comments.spam import KNOWN_COMMENTER, Verdict
from tests.conftest import make_comment

pytestmark = pytest.mark.django_db

A, R, S = Comment.Status.APPROVED, Comment.Status.REJECTED, Comment.Status.SPAM
LINK = "See https://example.org/report for the figures."
THREE_LINKS = "Sources: https://a.example https://b.example https://c.example"

# Ten decisions, newest first: (what moderators decided, text, other fields). With the
# default rules (two links allowed, no words) only no. 4 and no. 8 are held, for their links.
SEED = [
    (A, "A thoughtful perspective on the budget.", {}),
    (A, LINK, {}),
    (A, "I agree with the second section.", {}),
    (A, THREE_LINKS, {}),
    (R, "Off topic.", {}),
    (R, LINK, {}),
    (S, "Best casino bonus here.", {}),
    (S, f"casino {THREE_LINKS}", {}),
    (S, "Nice post.", {"author_name": "Casino King"}),
    (R, "Rude remarks.", {}),
]


def decided(article, number, status, body, **fields):
    """Create a comment decided ``number`` hours ago, a day after it was posted."""
    moderated_at = timezone.now() - timedelta(hours=number)
    fields.setdefault("author_email", f"reader{number}@example.org")
    return make_comment(
        article,
        body,
        status=status,
        created_at=moderated_at - timedelta(days=1),
        moderated_at=moderated_at,
        **fields,
    )


@pytest.fixture
def seeded(article):
    comments = [
        decided(article, number, status, body, **fields)
        for number, (status, body, fields) in enumerate(SEED, start=1)
    ]
    # Neither waits in the queue nor was decided by a moderator: never part of a dry run.
    make_comment(article, "casino", status=Comment.Status.PENDING)
    make_comment(article, "casino", status=A, moderation_reason=KNOWN_COMMENTER)
    return comments


def candidate(**fields):
    rules = ModerationRules.load()
    for name, value in fields.items():
        setattr(rules, name, value)
    return rules


def test_the_seeded_example_gives_exact_figures(seeded):
    """No links allowed and "casino" disallowed, against ten known decisions."""
    report = dry_run(
        candidate(max_links=0, disallowed_words="casino"),
        decided_comments(),
        current_rules=ModerationRules.load(),
    )
    assert len(report) == 10
    assert report.table == {
        HELD: {A: 2, R: 1, S: 0},
        SPAMMED: {A: 0, R: 0, S: 3},
        LET_THROUGH: {A: 2, R: 2, S: 0},
    }
    assert report.rows == [
        (HELD, [2, 1, 0], 3),
        (SPAMMED, [0, 0, 3], 3),
        (LET_THROUGH, [2, 2, 0], 4),
    ]
    assert report.totals == [4, 3, 3]
    changed = {
        replay.comment: (replay.current_outcome, replay.outcome) for replay in report.changed
    }
    assert changed == {
        seeded[1]: (LET_THROUGH, HELD),
        seeded[5]: (LET_THROUGH, HELD),
        seeded[6]: (LET_THROUGH, SPAMMED),
        seeded[7]: (HELD, SPAMMED),
        seeded[8]: (LET_THROUGH, SPAMMED),
    }
    reasons = {replay.comment: replay.reason for replay in report.replays}
    assert reasons[seeded[1]] == "Held: 1 link (more than 0)"
    assert reasons[seeded[7]] == "Spam: contains disallowed word “casino” in text"
    assert reasons[seeded[8]] == "Spam: contains disallowed word “casino” in name"
    assert reasons[seeded[0]] == "Awaiting moderation"


def test_the_current_rules_against_themselves_change_nothing(seeded):
    rules = ModerationRules.load()
    report = dry_run(rules, decided_comments(), current_rules=rules)
    assert report.changed == []
    assert report.rows == [
        (HELD, [1, 0, 1], 2),
        (SPAMMED, [0, 0, 0], 0),
        (LET_THROUGH, [3, 3, 2], 8),
    ]


def test_moderation_words_hold_in_any_field(seeded):
    report = dry_run(
        candidate(moderation_words="casino\nsecond section"),
        decided_comments(),
        current_rules=ModerationRules.load(),
    )
    assert report.rows[0] == (HELD, [2, 0, 3], 5)
    assert {r.comment for r in report.changed} == {seeded[2], seeded[6], seeded[8]}


def test_only_the_latest_decisions_are_replayed(seeded, settings):
    settings.COMMENTS_DRY_RUN_SIZE = 3
    assert list(decided_comments()) == seeded[:3]
    assert list(decided_comments(size=5)) == seeded[:5]


def test_known_commenters_are_let_through_only_after_their_first_approval(article):
    """An address is known from its first approved comment on, never by the comment itself."""
    first = decided(article, 5, A, "My first.", author_email="aiko@example.org")
    later = decided(article, 1, R, "A later one.", author_email="AIKO@example.org")
    stranger = decided(article, 2, R, "Never approved.", author_email="ken@example.org")
    is_known = known_commenter_test([first, later, stranger])
    assert [is_known(c) for c in (first, later, stranger)] == [False, True, False]
    report = dry_run(
        candidate(approve_known_commenters=True),
        decided_comments(),
        current_rules=ModerationRules.load(),
    )
    verdicts = {r.comment: (r.outcome, r.reason) for r in report.replays}
    assert verdicts[later] == (LET_THROUGH, KNOWN_COMMENTER)
    assert verdicts[first] == (LET_THROUGH, "Awaiting moderation")


def always_hold(comment, request, rules):
    """A defence that needs the request, like a rate limit: a dry run cannot replay it."""
    return Verdict(Comment.Status.PENDING, "Held: too fast")


def test_checks_that_need_the_request_are_not_replayed(seeded, settings):
    settings.COMMENTS_CHECKS = [
        "tests.comments.test_dry_run.always_hold",
        *settings.COMMENTS_CHECKS,
    ]
    report = dry_run(
        candidate(disallowed_words="casino"),
        decided_comments(),
        current_rules=ModerationRules.load(),
    )
    assert "Held: too fast" not in {r.reason for r in report.replays}
    assert report.rows[1] == (SPAMMED, [0, 0, 3], 3)


def test_the_dry_run_takes_a_fixed_number_of_queries(seeded, django_assert_num_queries):
    rules, new_rules = ModerationRules.load(), candidate(approve_known_commenters=True)
    with django_assert_num_queries(2):  # the decided comments, then the known addresses
        dry_run(new_rules, decided_comments(), rules)


# The admin page

RULES = "admin:comments_moderationrules_change"


def post_rules(client, **fields):
    data = {"max_links": 2, "moderation_words": "", "disallowed_words": "", **fields}
    return client.post(reverse(RULES, args=[ModerationRules.load().pk]), data)


def test_the_rules_page_offers_a_dry_run(moderator_client, settings):
    settings.COMMENTS_DRY_RUN_SIZE = 250
    html = moderator_client.get(reverse(RULES, args=[ModerationRules.load().pk])).content.decode()
    assert '<input type="submit" name="_dry_run" value="Dry run"' in html
    assert "the last 250 comments moderators decided" in html


def test_a_dry_run_shows_the_table_and_saves_nothing(moderator_client, seeded):
    response = post_rules(
        moderator_client, _dry_run="Dry run", max_links=0, disallowed_words="casino"
    )
    assert response.status_code == 200
    report = response.context["dry_run"]
    assert report.rows == [
        (HELD, [2, 1, 0], 3),
        (SPAMMED, [0, 0, 3], 3),
        (LET_THROUGH, [2, 2, 0], 4),
    ]
    html = response.content.decode()
    assert "Dry run: the rules below against the last 10 decided comments" in html
    assert '<th scope="row">Held</th>\n          <td>2</td><td>1</td><td>0</td>' in html
    assert "Changed by this edit: 5" in html
    for comment in [seeded[1], seeded[5], seeded[6], seeded[7], seeded[8]]:
        assert reverse("admin:comments_comment_change", args=[comment.pk]) in html
    assert reverse("admin:comments_comment_change", args=[seeded[0].pk]) not in html
    # The form keeps what was typed, ready to save.
    assert 'name="max_links" value="0"' in html
    assert "casino</textarea>" in html
    rules = ModerationRules.load()
    assert (rules.max_links, rules.disallowed_words) == (2, "")
    assert not LogEntry.objects.exists()


def test_a_dry_run_of_invalid_rules_shows_the_errors_and_no_report(moderator_client, seeded):
    response = post_rules(moderator_client, _dry_run="Dry run", max_links="-1")
    assert response.status_code == 200
    assert response.context["dry_run"] is None
    html = response.content.decode()
    assert "errornote" in html and "Dry run:" not in html
    assert ModerationRules.load().max_links == 2


def test_saving_still_saves(moderator_client):
    response = post_rules(moderator_client, _save="Save", max_links=5)
    assert response.status_code == 302
    assert ModerationRules.load().max_links == 5


def test_staff_who_may_not_change_the_rules_cannot_dry_run(client, django_user_model, seeded):
    client.force_login(
        django_user_model.objects.create_user("writer", password="pw", is_staff=True)
    )
    assert post_rules(client, _dry_run="Dry run", max_links=0).status_code == 403
    client.logout()
    response = post_rules(client, _dry_run="Dry run", max_links=0)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
