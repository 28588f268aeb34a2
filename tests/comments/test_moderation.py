from datetime import timedelta

import pytest
from django.utils import timezone

from blog.models import Article
from comments.moderation import thread_state
from tests.conftest import make_article

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("discussion", ["open", "closed", "disabled"])
def test_the_editor_choice_sets_the_state(discussion):
    assert thread_state(make_article(discussion=discussion)) == discussion


def test_threads_close_a_number_of_days_after_publication(settings):
    settings.COMMENTS_CLOSE_AFTER_DAYS = 14
    published = timezone.now() - timedelta(days=30)
    article = make_article(published_at=published)
    assert thread_state(article, now=published + timedelta(days=13, hours=23)) == "open"
    assert thread_state(article, now=published + timedelta(days=14)) == "closed"
    assert thread_state(article) == "closed"


def test_zero_days_means_never_close(settings):
    settings.COMMENTS_CLOSE_AFTER_DAYS = 0
    article = make_article(published_at=timezone.now() - timedelta(days=3650))
    assert thread_state(article) == "open"


def test_the_article_closing_time_replaces_the_site_wide_rule(settings):
    settings.COMMENTS_CLOSE_AFTER_DAYS = 1
    article = make_article(
        published_at=timezone.now() - timedelta(days=10),
        comments_close_at=timezone.now() + timedelta(hours=1),
    )
    assert thread_state(article) == "open"
    assert thread_state(article, now=timezone.now() + timedelta(hours=2)) == "closed"


def test_a_closed_or_disabled_article_stays_so_before_its_closing_time():
    later = timezone.now() + timedelta(days=1)
    article = make_article(discussion=Article.Discussion.DISABLED, comments_close_at=later)
    assert thread_state(article) == "disabled"
