"""Whether an article's thread accepts comments: the one rule, used by the page and the POST."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from blog.models import Article

OPEN = Article.Discussion.OPEN
CLOSED = Article.Discussion.CLOSED
DISABLED = Article.Discussion.DISABLED


def closes_at(article):
    """Return when the article's thread closes by itself, or None if it never does.

    The article's own closing time, when set, replaces the site-wide
    ``COMMENTS_CLOSE_AFTER_DAYS`` after publication (0 = never).
    """
    if article.comments_close_at is not None:
        return article.comments_close_at
    days = settings.COMMENTS_CLOSE_AFTER_DAYS
    return article.published_at + timedelta(days=days) if days else None


def thread_state(article, now=None):
    """Return "open", "closed" or "disabled" for the article's comment thread."""
    if article.discussion != OPEN:
        return DISABLED if article.discussion == DISABLED else CLOSED
    moment = closes_at(article)
    if moment is not None and (now or timezone.now()) >= moment:
        return CLOSED
    return OPEN
