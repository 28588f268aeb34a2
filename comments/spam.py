"""Spam defences and auto-moderation: what happens to a posted comment before it is stored.

A defence either *refuses* the post, so that nothing is stored, or gives the stored comment its
*verdict* (the status it starts with). Refusals come first, in this order (comments/views.py):

1. Rate limit (``rate_limit_wait``), before any other work: an address that already sent
   ``COMMENTS_RATE_LIMIT`` comments this window gets a 429 page showing its text. Only posts
   that got the thank-you redirect count (``count_post``), so fixing a form error costs nothing.
   If the cache is down the post goes through, logged: every comment is held for a moderator
   anyway, and a Redis outage should not silence readers.
2. Honeypot: a filled ``homepage`` field gets the same redirect as an accepted comment, but
   nothing is stored (logged).
3. The form (``CommentForm.clean``): a signed timestamp (``sign_timestamp``) that is too fast,
   too old or tampered with, and a duplicate of a comment already sent (``find_duplicate``,
   checked again under a lock when saving, for double clicks), are refused with a message that
   keeps the reader's text.

Then ``assess`` gives the verdict, the one entry point for it: each check takes the unsaved
comment, the request and the ``ModerationRules`` row, and returns a ``Verdict`` when its rule
fires or ``None`` when it has nothing to say. It runs the checks named in
``settings.COMMENTS_CHECKS`` in order and the first verdict wins. An external service such as
Akismet plugs in there through ``COMMENTS_SPAM_SERVICE`` (``check_spam_service``).

A check that reads only the comment and the rules (never the request or the clock) is marked
``@rules_only``: the rules dry run (``assess_with_rules``) replays past comments through those.
Reasons start with "Held:" or "Spam:"; the moderation record counts them by that prefix.
"""

import ipaddress
import logging
import math
import re
import time
from dataclasses import dataclass
from functools import cache, lru_cache

from django.conf import settings
from django.core import signing
from django.core.cache import caches
from django.utils.module_loading import import_string

from blog.rendering import render_comment

from .models import Comment, ModerationRules

logger = logging.getLogger(__name__)

AWAITING_MODERATION = "Awaiting moderation"
KNOWN_COMMENTER = "Approved: known commenter"

# The fields the word lists are matched against, with the name used in the reason.
SEARCHED_FIELDS = [
    ("author_name", "name"),
    ("author_email", "email"),
    ("author_url", "website"),
    ("body", "text"),
    ("ip_address", "IP address"),
    ("user_agent", "browser"),
]


@dataclass(frozen=True)
class Verdict:
    status: str
    reason: str


def rules_only(check):
    """Mark a check that reads only the comment and the rules, so a dry run can replay it."""
    check.rules_only = True
    return check


def _find_word(comment, words):
    """Return the first (word, field label) where a field contains a word, ignoring case."""
    for attribute, label in SEARCHED_FIELDS:
        value = str(getattr(comment, attribute) or "").casefold()
        if not value:
            continue
        for word in words:
            if word.casefold() in value:
                return word, label
    return None


@rules_only
def check_disallowed_words(comment, request, rules):
    """Mark as spam a comment containing a disallowed word."""
    if found := _find_word(comment, rules.disallowed_word_list):
        word, label = found
        return Verdict(Comment.Status.SPAM, f"Spam: contains disallowed word “{word}” in {label}")
    return None


_LINK = re.compile(r"<a\s", re.IGNORECASE)
# Addresses the renderer does not turn into links (unknown top-level domains) still advertise.
_ADDRESS = re.compile(r"\bhttps?://|\bwww\.", re.IGNORECASE)


def count_links(text, html=None):
    """Return how many links a comment body carries, linked or written out.

    ``html`` is the text already rendered by ``render_comment``, when the caller has it.
    """
    if html is None:
        html = render_comment(text)
    return max(len(_LINK.findall(html)), len(_ADDRESS.findall(text)))


@rules_only
def check_link_count(comment, request, rules):
    """Hold a comment whose text has more links than the rules allow."""
    # The comment keeps this rendering for its body_html, so a post renders its text once.
    links = count_links(comment.body, comment.rendered_body())
    if links > rules.max_links:
        noun = "link" if links == 1 else "links"
        return Verdict(
            Comment.Status.PENDING, f"Held: {links} {noun} (more than {rules.max_links})"
        )
    return None


@rules_only
def check_moderation_words(comment, request, rules):
    """Hold a comment containing a moderation word in any field or its IP address."""
    if found := _find_word(comment, rules.moderation_word_list):
        word, label = found
        return Verdict(
            Comment.Status.PENDING, f"Held: contains moderation word “{word}” in {label}"
        )
    return None


def is_known_commenter(comment):
    """Return whether the comment's email address already has an approved comment."""
    return Comment.objects.approved().filter(author_email__iexact=comment.author_email).exists()


@cache
def _load_checks(paths):
    return [import_string(path) for path in paths]


def get_checks():
    """Return the check functions named by ``settings.COMMENTS_CHECKS``, in order."""
    return _load_checks(tuple(settings.COMMENTS_CHECKS))


def assess(comment, request):
    """Return the Verdict for a new comment: the first check that fires, else the default."""
    rules = ModerationRules.load()
    for check in get_checks():
        if verdict := check(comment, request, rules):
            return verdict
    if rules.approve_known_commenters and is_known_commenter(comment):
        return Verdict(Comment.Status.APPROVED, KNOWN_COMMENTER)
    return Verdict(Comment.Status.PENDING, AWAITING_MODERATION)


def assess_with_rules(comment, rules, is_known=is_known_commenter):
    """Return the Verdict the given rules alone would give a comment, with no request at hand.

    The rules dry run replays past comments through this: checks marked ``@rules_only`` run in
    chain order and the ones that need the request (timestamps, rate limits) are skipped.
    ``is_known`` answers "was this a known commenter?" for the comment's own moment.
    """
    for check in get_checks():
        if getattr(check, "rules_only", False) and (verdict := check(comment, None, rules)):
            return verdict
    if rules.approve_known_commenters and is_known(comment):
        return Verdict(Comment.Status.APPROVED, KNOWN_COMMENTER)
    return Verdict(Comment.Status.PENDING, AWAITING_MODERATION)


def check_spam_service(comment, request, rules):
    """Mark as spam a comment that the service named by ``COMMENTS_SPAM_SERVICE`` calls spam.

    The setting is the dotted path of a callable ``(comment, request)`` returning "spam", "ham"
    or None; empty (the default) turns the check off. The service fails open: an error, or the
    timeout the callable must set on its own network call, is logged and the comment is judged
    by the other rules. "ham" only means "not spam": the comment is still held.
    """
    path = settings.COMMENTS_SPAM_SERVICE
    if not path:
        return None
    try:
        answer = import_string(path)(comment, request)
    except Exception:
        logger.warning("Spam service %s failed; judged without it", path, exc_info=True)
        return None
    if answer == "spam":
        return Verdict(Comment.Status.SPAM, "Spam: flagged by the spam service")
    if answer not in ("ham", None):
        logger.warning("Spam service %s gave an unknown answer %r; ignored", path, answer)
    return None


# Refusals: the post is not stored. See the module docstring for the order they run in.

TIMESTAMP_SALT = "comments.form-timestamp"
TOO_FAST = "That was quick — please take a moment to read your comment over, then send it again."
EXPIRED = "This form has expired; please send your comment again."
TAMPERED = "The form was changed in transit; please send your comment again."
ALREADY_SENT = "You have already sent this comment; it is awaiting moderation."
ALREADY_PUBLISHED = "You have already sent this comment; it is published."
# A resend of a rejected comment goes back to a moderator. Spam answers like pending, so that
# a spammer is not told which of their comments were caught (as on the page, OWN_VISIBLE_STATUSES).
DUPLICATE_STATUSES = [Comment.Status.PENDING, Comment.Status.SPAM, Comment.Status.APPROVED]


def sign_timestamp(article_id, at=None):
    """Return the token the comment form carries: its article and when it was served, signed."""
    moment = round(time.time() if at is None else at, 3)
    return signing.dumps([article_id, moment], salt=TIMESTAMP_SALT)


def refresh_timestamp(token):
    """Return the token re-signed for now, for a form served from the page cache."""
    article_id = _signed_article(token, settings.SECRET_KEY)
    return token if article_id is None else sign_timestamp(article_id)


@lru_cache(maxsize=256)
def _signed_article(token, secret_key):
    # Every serve of a cached page refreshes the same stored token: check its signature once.
    try:
        article_id, _ = signing.loads(token, key=secret_key, salt=TIMESTAMP_SALT)
    except (signing.BadSignature, TypeError, ValueError):
        return None
    return article_id


def timestamp_problem(token, article_id, now=None):
    """Return the message refusing a form's signed timestamp, or None when it is acceptable.

    Too fast is under ``COMMENTS_MIN_SECONDS``: people read before they send, scripts do not. A
    page served from the page cache carries an older timestamp, which only makes this milder.
    Too old is over ``COMMENTS_MAX_AGE_SECONDS``, so that a harvested form cannot be replayed.
    """
    try:
        signed_article, moment = signing.loads(token, salt=TIMESTAMP_SALT)
        age = (time.time() if now is None else now) - moment
    except (signing.BadSignature, TypeError, ValueError):
        return TAMPERED
    if signed_article != article_id:
        return TAMPERED
    if age < settings.COMMENTS_MIN_SECONDS:
        return TOO_FAST
    if age > settings.COMMENTS_MAX_AGE_SECONDS:
        return EXPIRED
    return None


def find_duplicate(article_id, email, body):
    """Return the status of an earlier comment with this text from this address on this
    article, or None if there is none."""
    # Only the status decides the message, and a post runs this twice: fetch nothing more.
    return (
        Comment.objects.by_email(email)
        .filter(article_id=article_id, body=body, status__in=DUPLICATE_STATUSES)
        .order_by("pk")
        .values_list("status", flat=True)
        .first()
    )


def duplicate_message(earlier_status):
    if earlier_status == Comment.Status.APPROVED:
        return ALREADY_PUBLISHED
    return ALREADY_SENT


def _rate_key(address, now):
    """Return the cache key counting this address's posts in the window that holds now."""
    bucket = "unknown"
    if address:
        ip = ipaddress.ip_address(address)
        # An IPv6 subscriber is given a whole /64: count the /64, not each of its addresses.
        network = ipaddress.ip_network(f"{ip}/{64 if ip.version == 6 else 32}", strict=False)
        bucket = str(network.network_address)
    window = int(now // settings.COMMENTS_RATE_WINDOW_SECONDS)
    return f"comments-rate:{bucket}:{window}"


def rate_limit_wait(address, now=None):
    """Return the seconds until this address may post again, or None if it may post now.

    Windows are fixed (aligned on the clock), so a burst across a window's end may reach twice
    ``COMMENTS_RATE_LIMIT``. A cache that cannot be reached lets the post through, logged.
    """
    limit = settings.COMMENTS_RATE_LIMIT
    if not limit:
        return None
    now = time.time() if now is None else now
    try:
        sent = caches["default"].get(_rate_key(address, now), 0)
    except Exception:
        logger.warning("Comment rate limit not checked: the cache is unavailable", exc_info=True)
        return None
    if sent < limit:
        return None
    window = settings.COMMENTS_RATE_WINDOW_SECONDS
    return max(1, math.ceil(window - now % window))


def count_post(address, now=None):
    """Count one accepted post against the address's rate limit."""
    if not settings.COMMENTS_RATE_LIMIT:
        return
    key = _rate_key(address, time.time() if now is None else now)
    backend = caches["default"]
    try:
        # Most addresses post once a window: creating the counter at 1 is then the only trip.
        if not backend.add(key, 1, timeout=settings.COMMENTS_RATE_WINDOW_SECONDS):
            backend.incr(key)
    except ValueError:
        pass  # The key expired between add and incr: the window it counted for is over.
    except Exception:
        logger.warning("Comment post not counted: the cache is unavailable", exc_info=True)
