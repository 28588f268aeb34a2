"""The faster queue: keyboard legend, approve all from a commenter, and similar groups."""

import random
from datetime import timedelta
from difflib import SequenceMatcher
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

from comments.models import Comment, ModerationDecision
from comments.queue_tools import (
    SIMILARITY,
    Budget,
    group_similar,
    normalise,
    pending_for_grouping,
    pending_from_commenters,
    similar_groups,
)
from tests.conftest import make_article, make_comment

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:comments_comment_changelist"
SIMILAR = "admin:comments_comment_similar"

FLOOD = "Great article!!! Visit my site for CHEAP watches, best prices in 2025."


def held(article, body, minutes_ago=0, **fields):
    fields.setdefault("status", Comment.Status.PENDING)
    created_at = timezone.now() - timedelta(minutes=minutes_ago)
    return make_comment(article, body, created_at=created_at, **fields)


def statuses(*comments):
    return [Comment.objects.get(pk=comment.pk).status for comment in comments]


# The queue page and its keyboard legend


def test_queue_page_has_the_legend_the_script_and_the_actions_it_drives(moderator_client, article):
    """The legend is server-rendered; the keys submit the changelist's own action form."""
    held(article, "Waiting.")
    html = moderator_client.get(reverse(CHANGELIST)).content.decode()
    assert 'id="queue-shortcuts"' in html
    for key, meaning in [("j", "next"), ("a", "approve"), ("r", "reject"), ("s", "spam")]:
        assert f"<kbd>{key}</kbd>" in html and meaning in html
    assert "<kbd>o</kbd></dt><dd>open the article in a new tab" in html
    assert "<kbd>x</kbd>" in html and "<kbd>?</kbd>" in html
    assert '<script src="/static/comments/admin/queue.js"></script>' in html
    assert 'href="/static/comments/admin/queue.css"' in html
    assert 'id="changelist-form" method="post"' in html and "csrfmiddlewaretoken" in html
    for action in ["approve", "reject", "mark_spam"]:
        assert f'<option value="{action}">' in html
    assert 'name="index" value="0"' in html  # the "Go" button the script submits with
    article_link = (
        f'<a href="{article.get_absolute_url()}" target="_blank" rel="noopener" '
        f"data-queue-open>{article.title}</a>"
    )
    assert article_link in html
    assert f'href="{reverse(SIMILAR)}"' in html
    assert f'href="{reverse("admin:comments_dashboard")}"' in html


def test_the_similar_groups_link_keeps_the_article_filter(moderator_client, article):
    response = moderator_client.get(reverse(CHANGELIST), {"article__id__exact": article.pk})
    assert f'href="{reverse(SIMILAR)}?article={article.pk}"' in response.content.decode()


def test_the_script_is_a_static_file_with_every_shortcut():
    source = Path(finders.find("comments/admin/queue.js")).read_text(encoding="utf-8")
    for needle in ['a: "approve"', 'r: "reject"', 's: "mark_spam"', 'key === "j"', 'key === "k"']:
        assert needle in source
    assert "requestSubmit" in source and "isTyping" in source


def test_the_queue_action_a_key_sends_approves_and_is_logged(moderator_client, moderator, article):
    """What "a" submits: the action form with the highlighted row ticked, index 0."""
    first, second = held(article, "First.", 2), held(article, "Second.", 1)
    response = moderator_client.post(
        reverse(CHANGELIST),
        {"action": "approve", "index": "0", "select_across": "0", "_selected_action": first.pk},
    )
    assert response.status_code == 302
    assert statuses(first, second) == ["approved", "pending"]
    assert LogEntry.objects.get(user=moderator).object_id == str(first.pk)


# Approve all from this commenter


def test_pending_from_commenters_matches_the_address_ignoring_case(article):
    mine = held(article, "Mine.", author_email="Aiko@Example.org")
    also_mine = held(article, "Also mine.", author_email="aiko@example.org")
    make_comment(article, "Published already.", author_email="aiko@example.org")
    held(article, "Someone else.", author_email="ken@example.org")
    assert set(pending_from_commenters([mine])) == {mine, also_mine}


def test_approve_all_from_the_selected_commenters(moderator_client, moderator, article):
    other_article = make_article("Another")
    aiko = [
        held(article, "One.", author_email="aiko@example.org"),
        held(other_article, "Two.", author_email="AIKO@example.org"),
    ]
    ken = held(article, "Three.", author_email="ken@example.org")
    rejected = held(
        article, "Refused.", author_email="aiko@example.org", status=Comment.Status.REJECTED
    )
    response = moderator_client.post(
        reverse(CHANGELIST),
        {"action": "approve_commenters", "_selected_action": [aiko[0].pk]},
        follow=True,
    )
    assert "2 comments approved." in response.content.decode()
    assert statuses(*aiko, ken, rejected) == ["approved", "approved", "pending", "rejected"]
    logged = LogEntry.objects.filter(user=moderator, change_message="Approved.")
    assert sorted(int(entry.object_id) for entry in logged) == sorted(c.pk for c in aiko)


def test_change_page_approves_all_from_this_commenter(moderator_client, moderator, article):
    comments = [held(article, f"Comment {n}.", n, author_email="aiko@example.org") for n in (1, 2)]
    ken = held(article, "Ken's.", author_email="ken@example.org")
    url = reverse("admin:comments_comment_approve_commenter", args=[comments[0].pk])
    html = moderator_client.get(
        reverse("admin:comments_comment_change", args=[comments[0].pk])
    ).content.decode()
    assert f'action="{url}"' in html
    assert "Approve all 2 pending from this commenter" in html
    assert moderator_client.get(url).status_code == 405
    response = moderator_client.post(url)
    assert response.status_code == 302 and response["Location"] == reverse(CHANGELIST)
    assert statuses(*comments, ken) == ["approved", "approved", "pending"]
    assert LogEntry.objects.filter(user=moderator, change_message="Approved.").count() == 2
    decisions = ModerationDecision.objects.filter(moderator=moderator, to_status="approved")
    assert {(d.comment, d.source) for d in decisions} == {(c, "change-page") for c in comments}
    html = moderator_client.get(
        reverse("admin:comments_comment_change", args=[comments[0].pk])
    ).content.decode()
    assert "pending from this commenter" not in html


# Similar groups


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Hello,\tWORLD!!  ", "hello world"),
        ("Buy 2 watches — now: 50% off…", "buy watches now off"),
        ("Straße ｆｕｌｌwidth 🙂", "strasse fullwidth"),
        ("123 !!! 🙂", ""),
    ],
)
def test_normalise(text, expected):
    assert normalise(text) == expected


def test_near_identical_texts_on_one_article_form_a_group(article):
    flood = [
        held(article, FLOOD, 5),
        held(article, FLOOD.upper(), 4),
        held(article, FLOOD.replace("2025", "2026").replace("!!!", "."), 3),
        held(article, FLOOD.replace("CHEAP", "cheapest"), 2),
    ]
    unrelated = held(article, "I disagree with the second section about procurement.", 1)
    groups = group_similar(pending_for_grouping())
    assert [group.comments for group in groups] == [flood]
    assert unrelated not in groups[0].comments
    assert groups[0].ids == [c.pk for c in flood] and groups[0].article == article


def test_similar_texts_on_different_articles_never_group(article):
    other = make_article("Another")
    held(article, FLOOD, 2)
    held(other, FLOOD, 1)
    assert similar_groups(pending_for_grouping()) == []


def test_dissimilar_texts_do_not_group(article):
    """Sharing a topic and most words is not enough: the texts must be near-identical."""
    held(article, "The budget rise is necessary given the regional threats we face today.")
    held(article, "The budget rise is unnecessary given the domestic pressures we face today.")
    held(article, "Short.")
    held(article, "Shorter still, and a different thought.")
    assert similar_groups(pending_for_grouping()) == []


def test_texts_with_no_words_are_never_grouped(article):
    held(article, "+1")
    held(article, "100%")
    held(article, "🙂🙂")
    assert similar_groups(pending_for_grouping()) == []


def test_past_the_comparison_budget_only_identical_texts_group(article):
    identical = [held(article, FLOOD, n) for n in (4, 3)]
    held(article, FLOOD.replace("CHEAP", "cheapest"), 2)
    comments = list(pending_for_grouping())
    assert [len(g) for g in group_similar(comments, budget=Budget(1))] == [3]
    assert [g.comments for g in group_similar(comments, budget=Budget(0))] == [identical]


def test_the_rare_word_filter_finds_every_group_a_full_comparison_finds():
    """Comparing only texts that share a rare word loses no group (the prefix filter)."""
    rng = random.Random(7)
    vocabulary = [f"{a}{b}" for a in "bcdfghjklm" for b in ("ar", "en", "ix", "ot", "um")]
    bases = [[rng.choice(vocabulary) for _ in range(rng.randint(8, 40))] for _ in range(12)]
    comments = []
    for number in range(150):
        words = list(rng.choice(bases))
        for _ in range(rng.choice([0, 0, 1, 2, 4])):
            words[rng.randrange(len(words))] = rng.choice(vocabulary)
        created_at = timezone.now() + timedelta(seconds=number)
        comments.append(SimpleNamespace(pk=number, body=" ".join(words), created_at=created_at))

    def brute_force():
        groups = []
        for comment in comments:
            words = comment.body.split()
            for group in groups:
                matcher = SequenceMatcher(None, words, group[0].body.split(), autojunk=False)
                if matcher.ratio() >= SIMILARITY:
                    group.append(comment)
                    break
            else:
                groups.append([comment])
        return [[c.pk for c in group] for group in groups if len(group) > 1]

    found = [group.ids for group in group_similar(comments, budget=Budget(10**9))]
    assert found == brute_force() and len(found) > 5


def test_only_pending_comments_are_grouped(article):
    held(article, FLOOD)
    held(article, FLOOD, status=Comment.Status.SPAM)
    make_comment(article, FLOOD)
    assert similar_groups(pending_for_grouping()) == []


def test_grouping_takes_each_articles_oldest_pending_comments_up_to_the_limit(article):
    other = make_article("Another")
    mine = [held(article, f"{FLOOD} {n}", 10 - n) for n in range(4)]
    theirs = [held(other, f"{FLOOD} {n}", 10 - n) for n in range(2)]
    assert list(pending_for_grouping(limit=3)) == [*mine[:3], *theirs]
    assert list(pending_for_grouping(article.pk, limit=3)) == mine[:3]
    groups = similar_groups(pending_for_grouping(limit=3))
    assert [len(group) for group in groups] == [3, 2]


def test_groups_come_largest_first(article):
    other = make_article("Another")
    for n in range(2):
        held(article, "Two copies of this.", n)
    for n in range(3):
        held(other, "Three copies of that.", n)
    assert [len(g) for g in similar_groups(pending_for_grouping())] == [3, 2]


def test_similar_groups_page_lists_each_group_with_one_decision_form(moderator_client, article):
    flood = [held(article, FLOOD, n) for n in (3, 2, 1)]
    response = moderator_client.get(reverse(SIMILAR))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"3 similar comments on “{article.title}”" in html
    for comment in flood:
        assert f'<input type="hidden" name="comment" value="{comment.pk}">' in html
        assert reverse("admin:comments_comment_change", args=[comment.pk]) in html
    for decision in ["approve", "reject", "spam"]:
        assert f'name="decision" value="{decision}"' in html
    assert "csrfmiddlewaretoken" in html


@pytest.mark.parametrize(
    ("decision", "status", "message"),
    [
        ("approve", Comment.Status.APPROVED, "Approved."),
        ("reject", Comment.Status.REJECTED, "Rejected."),
        ("spam", Comment.Status.SPAM, "Marked as spam."),
    ],
)
def test_one_decision_applies_to_the_whole_group(
    moderator_client, moderator, article, decision, status, message
):
    flood = [held(article, FLOOD, n) for n in (3, 2, 1)]
    bystander = held(article, "An unrelated comment.", 4)
    response = moderator_client.post(
        reverse(SIMILAR), {"decision": decision, "comment": [c.pk for c in flood]}, follow=True
    )
    assert response.redirect_chain == [(reverse(SIMILAR), 302)]
    assert f"3 comments {message.lower().rstrip('.')}." in response.content.decode()
    assert statuses(*flood, bystander) == [status] * 3 + ["pending"]
    for comment in flood:
        comment.refresh_from_db()
        assert comment.moderated_by == moderator and comment.moderated_at
    logged = LogEntry.objects.filter(user=moderator, change_message=message)
    assert sorted(int(e.object_id) for e in logged) == sorted(c.pk for c in flood)
    trail = ModerationDecision.objects.filter(moderator=moderator, to_status=status)
    assert sorted(d.comment_id for d in trail) == sorted(c.pk for c in flood)


def test_a_group_decision_leaves_comments_decided_meanwhile_alone(moderator_client, article):
    flood = [held(article, FLOOD, n) for n in (2, 1)]
    Comment.objects.filter(pk=flood[0].pk).update(status=Comment.Status.APPROVED)
    moderator_client.post(reverse(SIMILAR), {"decision": "spam", "comment": [c.pk for c in flood]})
    assert statuses(*flood) == ["approved", "spam"]


def test_a_group_post_without_a_decision_or_comments_changes_nothing(moderator_client, article):
    flood = [held(article, FLOOD, n) for n in (2, 1)]
    for data in [{"comment": [flood[0].pk]}, {"decision": "approve"}, {"decision": "delete"}]:
        response = moderator_client.post(reverse(SIMILAR), {**data, "x": "1"}, follow=True)
        assert "No group or decision was chosen." in response.content.decode()
    response = moderator_client.post(reverse(SIMILAR), {"decision": "approve", "comment": "1x"})
    assert statuses(*flood) == ["pending", "pending"]


def test_similar_groups_page_takes_the_same_queries_for_many_groups(
    moderator_client, django_assert_max_num_queries
):
    """One query finds every article's pending comments; groups add none."""
    articles = [make_article(f"Article {n}", sections=0) for n in range(5)]
    held(articles[0], FLOOD)
    held(articles[0], FLOOD)
    moderator_client.get(reverse(SIMILAR))  # warm the session and permission caches
    with django_assert_max_num_queries(6) as one_group:
        moderator_client.get(reverse(SIMILAR))
    for article in articles[1:]:
        for n in range(4):
            held(article, f"{FLOOD} {article.title}", n)
    with django_assert_max_num_queries(len(one_group)) as five_groups:
        response = moderator_client.get(reverse(SIMILAR))
    assert len(response.context["groups"]) == 5
    assert len(five_groups) == len(one_group)


# Permissions

PAGES = [
    ("get", lambda comment: reverse(SIMILAR)),
    ("post", lambda comment: reverse(SIMILAR)),
    (
        "post",
        lambda comment: reverse("admin:comments_comment_approve_commenter", args=[comment.pk]),
    ),
    ("get", lambda comment: reverse("admin:comments_dashboard")),
]


@pytest.mark.parametrize(("method", "url"), PAGES)
def test_anonymous_and_non_staff_users_reach_none_of_it(
    client, django_user_model, article, method, url
):
    comment = held(article, FLOOD)
    held(article, FLOOD)
    data = {"decision": "approve", "comment": [comment.pk]} if method == "post" else {}
    response = getattr(client, method)(url(comment), data)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(django_user_model.objects.create_user("reader", password="pw"))
    response = getattr(client, method)(url(comment), data)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert statuses(comment) == ["pending"]


@pytest.mark.parametrize(("method", "url"), PAGES)
def test_staff_without_the_moderators_group_are_refused(
    client, django_user_model, article, method, url
):
    comment = held(article, FLOOD)
    held(article, FLOOD)
    client.force_login(
        django_user_model.objects.create_user("writer", password="pw", is_staff=True)
    )
    data = {"decision": "approve", "comment": [comment.pk]} if method == "post" else {}
    assert getattr(client, method)(url(comment), data).status_code == 403
    assert statuses(comment) == ["pending"]


def test_staff_who_may_only_view_comments_cannot_decide_groups(client, django_user_model, article):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_comment"))
    client.force_login(viewer)
    comment = held(article, FLOOD)
    assert client.get(reverse(SIMILAR)).status_code == 403
    assert client.get(reverse("admin:comments_dashboard")).status_code == 200
    approve_all = reverse("admin:comments_comment_approve_commenter", args=[comment.pk])
    assert client.post(approve_all).status_code == 403
    html = client.get(reverse(CHANGELIST)).content.decode()
    assert "<kbd>j</kbd>" in html and "<kbd>a</kbd>" not in html
    assert statuses(comment) == ["pending"]
