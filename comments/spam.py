"""Auto-moderation: a chain of small checks that decide how a new comment starts its life.

Each check takes the unsaved comment, the request and the ``ModerationRules`` row, and returns
a ``Verdict`` when its rule fires or ``None`` when it has nothing to say. ``assess`` runs the
checks named in ``settings.COMMENTS_CHECKS`` in order and the first verdict wins, so later
defences (honeypot, timestamp, rate limit, duplicates) are appended to that list.
"""

import re
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from blog.rendering import render_comment

from .models import Comment, ModerationRules

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


def check_disallowed_words(comment, request, rules):
    """Mark as spam a comment containing a disallowed word."""
    if found := _find_word(comment, rules.disallowed_word_list):
        word, label = found
        return Verdict(Comment.Status.SPAM, f"Spam: contains disallowed word “{word}” in {label}")
    return None


_LINK = re.compile(r"<a\s", re.IGNORECASE)
# Addresses the renderer does not turn into links (unknown top-level domains) still advertise.
_ADDRESS = re.compile(r"\bhttps?://|\bwww\.", re.IGNORECASE)


def count_links(text):
    """Return how many links a comment body carries, linked or written out."""
    return max(len(_LINK.findall(render_comment(text))), len(_ADDRESS.findall(text)))


def check_link_count(comment, request, rules):
    """Hold a comment whose text has more links than the rules allow."""
    links = count_links(comment.body)
    if links > rules.max_links:
        noun = "link" if links == 1 else "links"
        return Verdict(
            Comment.Status.PENDING, f"Held: {links} {noun} (more than {rules.max_links})"
        )
    return None


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
