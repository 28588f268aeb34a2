from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from blog.models import Article
from comments.models import Comment, ModerationRules
from tests.conftest import make_article, make_comment

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:comments_comment_changelist"


def queue(client, **params):
    return client.get(reverse(CHANGELIST), params)


def held(article, body, hours_ago, **fields):
    fields.setdefault("status", Comment.Status.PENDING)
    fields.setdefault("moderation_reason", "Awaiting moderation")
    created_at = timezone.now() - timedelta(hours=hours_ago)
    return make_comment(article, body, created_at=created_at, **fields)


def test_moderators_group_may_moderate_but_not_edit_articles():
    codenames = set(
        Group.objects.get(name="Moderators").permissions.values_list("codename", flat=True)
    )
    assert codenames == {
        "view_comment",
        "change_comment",
        "view_moderationrules",
        "change_moderationrules",
        "view_article",
    }


def test_changelist_opens_on_the_pending_queue_oldest_first(moderator_client, article):
    newer = held(article, "Newer held comment.", 1)
    older = held(article, "Older held comment.", 5, moderation_reason="Held: 3 links (more than 2)")
    make_comment(article, "Already approved.")
    response = queue(moderator_client)
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [older, newer]
    html = response.content.decode()
    for text in ["Older held comment.", "reader@example.org", article.title, "Held: 3 links"]:
        assert text in html
    assert "5\xa0hours" in html
    assert "Already approved." not in html


def test_queue_can_show_every_status(moderator_client, article):
    held(article, "Held.", 1)
    make_comment(article, "Approved.")
    make_comment(article, "Spam.", status=Comment.Status.SPAM)
    every = queue(moderator_client, status="all").context["cl"].result_list
    assert len(every) == 3
    approved = queue(moderator_client, status="approved").context["cl"].result_list
    assert [c.body for c in approved] == ["Approved."]
    html = queue(moderator_client, _facets="True").content.decode()
    assert "Pending (1)" in html and "All (3)" in html
    assert queue(moderator_client, created_at__year=timezone.now().year).status_code == 200


@pytest.mark.parametrize(
    ("term", "found"), [("203.0.113", 1), ("casino@", 1), ("budget", 1), ("Aiko", 1), ("zzz", 0)]
)
def test_search_covers_author_email_text_and_ip(moderator_client, article, term, found):
    held(
        article,
        "About the budget.",
        1,
        author_name="Aiko",
        author_email="casino@example.org",
        ip_address="203.0.113.9",
    )
    held(article, "Unrelated.", 2, author_name="Ken", ip_address="198.51.100.1")
    results = queue(moderator_client, q=term, status="all").context["cl"].result_list
    assert len([c for c in results if c.author_name == "Aiko"]) == found


def test_filter_by_article(moderator_client, article):
    held(article, "Mine.", 1)
    other = make_article("Other")
    held(other, "Theirs.", 1)
    results = queue(moderator_client, article__id__exact=other.pk).context["cl"].result_list
    assert [c.body for c in results] == ["Theirs."]


@pytest.mark.parametrize(
    ("action", "status", "message"),
    [
        ("approve", Comment.Status.APPROVED, "Approved."),
        ("reject", Comment.Status.REJECTED, "Rejected."),
        ("mark_spam", Comment.Status.SPAM, "Marked as spam."),
        ("return_to_pending", Comment.Status.PENDING, "Returned to pending."),
    ],
)
def test_each_bulk_action_works_for_a_moderator_and_is_logged(
    moderator_client, moderator, article, action, status, message
):
    comments = [held(article, f"Comment {n}.", n, status=Comment.Status.SPAM) for n in (1, 2)]
    untouched = held(article, "Not selected.", 3, status=Comment.Status.SPAM)
    response = moderator_client.post(
        reverse(CHANGELIST) + "?status=all",
        {"action": action, "_selected_action": [c.pk for c in comments]},
    )
    assert response.status_code == 302
    for comment in comments:
        comment.refresh_from_db()
        assert comment.status == status
        assert comment.moderated_by == moderator and comment.moderated_at
    untouched.refresh_from_db()
    assert untouched.status == Comment.Status.SPAM
    entries = LogEntry.objects.filter(user=moderator, change_message=message)
    assert sorted(int(e.object_id) for e in entries) == sorted(c.pk for c in comments)


def test_change_page_approves_with_one_click(moderator_client, moderator, article):
    comment = held(article, "Approve me.", 1)
    change_url = reverse("admin:comments_comment_change", args=[comment.pk])
    approve_url = reverse("admin:comments_comment_approve", args=[comment.pk])
    html = moderator_client.get(change_url).content.decode()
    assert f'action="{approve_url}"' in html
    assert moderator_client.get(approve_url).status_code == 405
    response = moderator_client.post(approve_url)
    assert response.status_code == 302
    comment.refresh_from_db()
    assert (comment.status, comment.moderated_by) == (Comment.Status.APPROVED, moderator)
    assert LogEntry.objects.get(object_id=str(comment.pk)).change_message == "Approved."
    assert f'action="{approve_url}"' not in moderator_client.get(change_url).content.decode()


def test_changing_the_status_on_the_change_page_records_the_moderator(
    moderator_client, moderator, article
):
    comment = held(article, "Edit me.", 1)
    response = moderator_client.post(
        reverse("admin:comments_comment_change", args=[comment.pk]),
        {
            "author_name": comment.author_name,
            "author_email": comment.author_email,
            "author_url": "",
            "body": comment.body,
            "status": Comment.Status.REJECTED,
            "moderation_reason": "Off topic",
        },
    )
    assert response.status_code == 302
    comment.refresh_from_db()
    assert (comment.status, comment.moderated_by) == (Comment.Status.REJECTED, moderator)


def test_pending_count_on_the_admin_index(moderator_client, article):
    held(article, "One.", 1)
    held(article, "Two.", 2)
    make_comment(article)
    html = moderator_client.get(reverse("admin:index")).content.decode()
    assert "2 comments awaiting moderation" in html


def test_pending_count_per_article_without_a_query_per_article(admin_client):
    url = reverse("admin:blog_article_changelist")
    articles = [make_article("Article 0", sections=0)]
    with CaptureQueriesContext(connection) as one_article:
        admin_client.get(url)
    articles += [make_article(f"Article {n}", sections=0) for n in range(1, 5)]
    for number, article in enumerate(articles):
        for hours in range(number):
            held(article, "Held.", hours)
    with CaptureQueriesContext(connection) as five_articles:
        response = admin_client.get(url)
    assert len(five_articles) == len(one_article)
    html = response.content.decode()
    assert '<td class="field-pending_comments">' in html
    assert f"article__id__exact={articles[4].pk}&amp;status=pending" in html
    counts = {a.title: a.pending_comment_count for a in response.context["cl"].result_list}
    assert counts == {f"Article {n}": n for n in range(5)}


@pytest.mark.parametrize(
    ("action", "discussion"),
    [
        ("open_comments", Article.Discussion.OPEN),
        ("close_comments", Article.Discussion.CLOSED),
        ("disable_comments", Article.Discussion.DISABLED),
    ],
)
def test_article_actions_open_close_and_disable_threads(admin_client, client, action, discussion):
    article = make_article(
        discussion=Article.Discussion.CLOSED if action == "open_comments" else "open"
    )
    client.get(article.get_absolute_url())
    admin_client.post(
        reverse("admin:blog_article_changelist"),
        {"action": action, "_selected_action": [article.pk]},
    )
    article.refresh_from_db()
    assert article.discussion == discussion
    assert LogEntry.objects.filter(object_id=str(article.pk)).exists()
    html = client.get(article.get_absolute_url()).content.decode()
    assert ('id="comment-form"' in html) == (discussion == Article.Discussion.OPEN)


def test_moderators_can_read_articles_but_not_change_them(moderator_client, article):
    changelist = moderator_client.get(reverse("admin:blog_article_changelist"))
    assert changelist.status_code == 200
    assert "close_comments" not in changelist.content.decode()
    change_url = reverse("admin:blog_article_change", args=[article.pk])
    assert moderator_client.get(change_url).status_code == 200
    assert moderator_client.post(change_url, {"title": "Hijacked"}).status_code == 403
    article.refresh_from_db()
    assert article.title == "An article"
    response = moderator_client.post(
        reverse("admin:blog_article_changelist"),
        {"action": "close_comments", "_selected_action": [article.pk]},
    )
    article.refresh_from_db()
    assert article.discussion == Article.Discussion.OPEN
    assert response.status_code in (200, 302)


def test_moderators_edit_the_rules_without_a_deploy(moderator_client):
    response = moderator_client.get(reverse("admin:comments_moderationrules_changelist"))
    rules = ModerationRules.load()
    assert response["Location"] == reverse("admin:comments_moderationrules_change", args=[rules.pk])
    moderator_client.post(
        response["Location"],
        {"max_links": 4, "moderation_words": "casino", "disallowed_words": ""},
    )
    rules.refresh_from_db()
    assert (rules.max_links, rules.moderation_words) == (4, "casino")


@pytest.mark.parametrize(
    "url",
    [
        reverse("admin:comments_comment_changelist"),
        reverse("admin:comments_moderationrules_changelist"),
    ],
)
def test_anonymous_and_non_staff_users_reach_none_of_it(client, django_user_model, article, url):
    comment = held(article, "Held.", 1)
    approve_url = reverse("admin:comments_comment_approve", args=[comment.pk])
    for target in [url, approve_url]:
        response = client.get(target)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(django_user_model.objects.create_user("reader", password="pw"))
    for target in [url, approve_url]:
        response = client.get(target)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    response = client.post(
        reverse(CHANGELIST), {"action": "approve", "_selected_action": [comment.pk]}
    )
    comment.refresh_from_db()
    assert comment.status == Comment.Status.PENDING


def test_staff_without_the_moderators_group_cannot_moderate(client, django_user_model, article):
    comment = held(article, "Held.", 1)
    client.force_login(
        django_user_model.objects.create_user("writer", password="pw", is_staff=True)
    )
    assert queue(client).status_code == 403
    approve_url = reverse("admin:comments_comment_approve", args=[comment.pk])
    assert client.post(approve_url).status_code == 403
    assert "awaiting moderation" not in client.get(reverse("admin:index")).content.decode()


@pytest.mark.parametrize(
    ("term", "expected"),
    [("CASINO@example.org", ["Aiko"]), ("203.0.113.9", ["Aiko"]), ("2001:db8::1", ["Ken"])],
)
def test_whole_addresses_are_looked_up_exactly(moderator_client, article, term, expected):
    """An email or IP address is matched whole (through its index), not as a substring."""
    held(
        article,
        "One.",
        1,
        author_name="Aiko",
        author_email="casino@example.org",
        ip_address="203.0.113.9",
    )
    held(
        article,
        "Two.",
        2,
        author_name="Ken",
        author_email="xcasino@example.org",
        ip_address="2001:db8::1",
    )
    held(article, "Three.", 3, author_name="Mia", ip_address="203.0.113.99")
    results = queue(moderator_client, q=term, status="all").context["cl"].result_list
    assert [c.author_name for c in results] == expected


def test_queue_filters_by_insight(moderator_client, article):
    from blog.models import Insight

    insight = Insight.objects.get(section__article=article)
    held(article, "On the insight.", 1, insight=insight)
    held(article, "General.", 2)
    results = queue(moderator_client, insight=insight.pk).context["cl"].result_list
    assert [c.body for c in results] == ["On the insight."]
    any_insight = queue(moderator_client, insight="any").context["cl"].result_list
    assert [c.body for c in any_insight] == ["On the insight."]
    html = queue(moderator_client, article__id__exact=article.pk).content.decode()
    assert "Analysts" in html
