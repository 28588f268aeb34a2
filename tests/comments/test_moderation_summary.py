"""The public line under a thread that shows readers how moderation went."""

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from blog.models import Article
from comments.models import Comment, RejectionReason, ThreadSettings
from comments.templatetags.comments import moderation_summary
from tests.conftest import make_article, make_comment

pytestmark = pytest.mark.django_db


def summary_in(article):
    html = Client().get(article.get_absolute_url()).content.decode()
    start = html.find('<p class="comments__summary">')
    return html[start : html.index("</p>", start)].split(">", 1)[1] if start >= 0 else None


def make_many(article, count, **fields):
    Comment.objects.bulk_create(
        Comment(article=article, author_name="R", author_email="r@example.org", body="x", **fields)
        for _ in range(count)
    )


@pytest.fixture
def decided(article):
    off_topic = RejectionReason.objects.create(label="off-topic")
    make_many(article, 30, status="approved")
    make_many(article, 9, status="rejected", rejection_reason=off_topic)
    make_many(article, 3, status="spam")
    make_many(article, 4, status="pending")  # not decided yet: not counted
    return article


def test_the_line_reads_like_the_issue_asks(decided, settings):
    settings.COMMENTS_SHOW_MODERATION_SUMMARY = True
    assert summary_in(decided) == (
        "42 perspectives received, 30 published, 9 declined as off-topic, 3 spam."
    )


def test_off_by_default(decided):
    assert summary_in(decided) is None


def test_one_of_each_reads_in_the_singular(article, settings):
    settings.COMMENTS_SHOW_MODERATION_SUMMARY = True
    make_comment(article)
    assert summary_in(article) == "1 perspective received, 1 published."


def test_reasons_hidden_from_authors_and_missing_reasons_say_only_declined(article, settings):
    settings.COMMENTS_SHOW_MODERATION_SUMMARY = True
    legal = RejectionReason.objects.create(label="legal risk", is_shown_to_author=False)
    rude = RejectionReason.objects.create(label="personal attack")
    make_many(article, 2, status="approved")
    make_many(article, 1, status="rejected", rejection_reason=legal)
    make_many(article, 2, status="rejected")
    make_many(article, 1, status="rejected", rejection_reason=rude)
    assert summary_in(article) == (
        "6 perspectives received, 2 published, 1 declined as personal attack, 3 declined."
    )


def test_nothing_decided_shows_no_line(article, settings):
    settings.COMMENTS_SHOW_MODERATION_SUMMARY = True
    make_many(article, 2, status="pending")
    assert summary_in(article) is None


def test_an_article_overrides_the_site_default(decided, settings):
    other = make_article("Other")
    make_comment(other)
    ThreadSettings.objects.create(article=decided, is_summary_shown=True)
    assert summary_in(decided).startswith("42 perspectives received")
    assert summary_in(other) is None
    settings.COMMENTS_SHOW_MODERATION_SUMMARY = True
    cache.clear()  # a new setting comes with a deploy, when cached pages expire in time
    own = ThreadSettings.objects.get(article=decided)
    own.is_summary_shown = False
    own.save()  # drops the cached page
    assert summary_in(decided) is None
    assert summary_in(other) == "1 perspective received, 1 published."


def test_a_fixed_number_of_queries_whatever_the_comments(
    decided, settings, django_assert_num_queries
):
    """One query for the article's setting; counting, only where the line is shown, one more."""
    with django_assert_num_queries(1):
        assert moderation_summary(decided) == ""
    settings.COMMENTS_SHOW_MODERATION_SUMMARY = True
    with django_assert_num_queries(2):
        assert moderation_summary(decided)


def test_closed_threads_keep_the_line_and_disabled_ones_show_nothing(decided, settings):
    settings.COMMENTS_SHOW_MODERATION_SUMMARY = True
    decided.discussion = Article.Discussion.CLOSED
    decided.save()
    assert summary_in(decided).startswith("42 perspectives")
    decided.discussion = Article.Discussion.DISABLED
    decided.save()
    assert summary_in(decided) is None


def test_the_article_actions_set_it_and_the_cached_page_follows(admin_client, decided):
    assert summary_in(decided) is None  # now cached for anonymous readers
    changelist = reverse("admin:blog_article_changelist")
    assert "Site default (hidden)" in admin_client.get(changelist).content.decode()
    admin_client.post(
        changelist, {"action": "show_moderation_summary", "_selected_action": [decided.pk]}
    )
    assert ThreadSettings.objects.get(article=decided).is_summary_shown is True
    assert summary_in(decided).startswith("42 perspectives")
    assert ">Shown<" in admin_client.get(changelist).content.decode()
    admin_client.post(
        changelist, {"action": "hide_moderation_summary", "_selected_action": [decided.pk]}
    )
    assert summary_in(decided) is None
    admin_client.post(
        changelist, {"action": "default_moderation_summary", "_selected_action": [decided.pk]}
    )
    assert ThreadSettings.objects.get(article=decided).is_summary_shown is None


def test_a_moderation_decision_refreshes_the_cached_line(decided, settings, staff_user):
    settings.COMMENTS_SHOW_MODERATION_SUMMARY = True
    assert summary_in(decided).startswith("42 perspectives received, 30 published")
    Comment.objects.pending().filter(article=decided).approve(staff_user)
    assert summary_in(decided).startswith("46 perspectives received, 34 published")


def test_past_the_page_cache_the_line_kept_with_the_layout_follows_every_change(
    decided, settings, staff_user
):
    """Without the page cache the line is stored with the thread's layout, under the page
    version: a moderation decision and the article's own setting both replace it at once."""
    settings.ARTICLE_PAGE_CACHE_SECONDS = 0
    settings.COMMENTS_SHOW_MODERATION_SUMMARY = True
    assert summary_in(decided).startswith("42 perspectives received, 30 published")
    Comment.objects.pending().filter(article=decided).approve(staff_user)
    assert summary_in(decided).startswith("46 perspectives received, 34 published")
    ThreadSettings.objects.create(article=decided, is_summary_shown=False)
    assert summary_in(decided) is None
    ThreadSettings.objects.get(article=decided).delete()
    assert summary_in(decided).startswith("46 perspectives received"), "back to the default"


def test_renaming_a_reason_refreshes_the_line_on_every_page_that_names_it(decided, settings):
    settings.COMMENTS_SHOW_MODERATION_SUMMARY = True
    assert "9 declined as off-topic" in summary_in(decided)
    reason = RejectionReason.objects.get(label="off-topic")
    reason.label = "beside the point"
    reason.save()
    assert "9 declined as beside the point" in summary_in(decided)
    reason.is_shown_to_author = False
    reason.save()
    assert "9 declined" in summary_in(decided)
    assert "beside the point" not in summary_in(decided)
