"""Tools for a faster moderation queue and for trusting rule changes: pure functions, no HTTP.

* ``pending_from_commenters``: the queue entries of the people who wrote some comments.
* ``similar_groups``: pending comments on one article with near-identical text, so that one
  decision covers a flood of copies.
* ``dry_run``: what candidate auto-moderation rules would have done to comments moderators
  have already decided, next to what they decided and what the current rules did.
"""

import math
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from django.conf import settings
from django.db.models import Min, Window
from django.db.models.functions import Lower, RowNumber

from .models import Comment
from .spam import AWAITING_MODERATION, assess_with_rules

# Two texts are "similar" when difflib's ratio over their normalised words reaches this: one
# word changed in twenty still groups, a different sentence does not.
SIMILARITY = 0.9
# Grouping compares texts pairwise within one article, so only this many of each article's
# oldest pending comments take part; the rest wait for the next page load.
GROUPING_LIMIT = 500
# Most texts are compared with few others (see _prefix_length); texts built to defeat that
# (the same words shuffled) stop being compared after this many comparisons on one page.
COMPARISON_BUDGET = 2_000

DECIDED = [Comment.Status.APPROVED, Comment.Status.REJECTED, Comment.Status.SPAM]


def pending_from_commenters(comments):
    """Return the pending comments written from any of these comments' email addresses."""
    emails = {comment.author_email.lower() for comment in comments}
    return Comment.objects.pending().alias(email=Lower("author_email")).filter(email__in=emails)


# Similar comments


# Anything but letters: punctuation, symbols, emoji, digits, the underscore and spaces.
_NOT_LETTERS = re.compile(r"[\W\d_]+")


def normalise(text):
    """Return the text casefolded, without punctuation, symbols or digits, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _NOT_LETTERS.sub(" ", text).strip()


def is_similar(words, matcher, threshold=SIMILARITY):
    """Return whether ``words`` are near-identical to the matcher's second sequence.

    The cheap upper bounds come first, so most dissimilar pairs never reach ``ratio()``.
    """
    matcher.set_seq1(words)
    return (
        matcher.real_quick_ratio() >= threshold
        and matcher.quick_ratio() >= threshold
        and matcher.ratio() >= threshold
    )


class Budget:
    """How many more texts may be compared in full; shared by the articles of one page."""

    def __init__(self, comparisons=COMPARISON_BUDGET):
        self.left = comparisons

    def spend(self):
        self.left -= 1
        return self.left >= 0


def _tagged(words):
    """Return the words as (word, n) for their nth occurrence, so a multiset becomes a set."""
    seen = Counter()
    tagged = []
    for word in words:
        seen[word] += 1
        tagged.append((word, seen[word]))
    return tagged


def _prefix_length(length, threshold):
    """Return how many of a text's rarest words must include one shared with any similar text.

    A ratio of ``threshold`` needs at least ``threshold * length / (2 - threshold)`` words in
    common, so two similar texts share a word among the first ``length - that + 1`` of each in
    one fixed order: the prefix filter of Bayardo et al., "Scaling up all pairs similarity
    search" (WWW 2007). Rarest first keeps the shared words, and so the candidates, few.
    """
    overlap = math.ceil(threshold * length / (2 - threshold) - 1e-9)
    return max(length - overlap + 1, 1)


@dataclass
class SimilarGroup:
    """Pending comments on one article whose texts are near-identical, oldest first."""

    comments: list = field(default_factory=list)

    @property
    def article(self):
        return self.comments[0].article

    @property
    def first(self):
        return self.comments[0]

    @property
    def ids(self):
        return [comment.pk for comment in self.comments]

    def __len__(self):
        return len(self.comments)


def group_similar(comments, threshold=SIMILARITY, budget=None):
    """Return groups of two or more near-identical comments, oldest first.

    The comments must belong to one article. Identical normalised texts fall together at once;
    each other text joins the first group whose first text it resembles. Only groups sharing a
    rare word with it are compared (``_prefix_length``), and at most ``budget`` of those in
    all; past that, texts group only when identical. A text with no words left after
    normalising (only digits or emoji) is never grouped.
    """
    budget = budget or Budget()
    by_text = {}
    for comment in sorted(comments, key=lambda comment: (comment.created_at, comment.pk)):
        if text := normalise(comment.body):
            by_text.setdefault(text, []).append(comment)
    tagged = {text: _tagged(text.split()) for text in by_text}
    frequency = Counter(token for tokens in tagged.values() for token in tokens)
    # A group is compared through a matcher whose second sequence is its first text (difflib
    # caches what it learns about that one), made when first needed; the index finds groups by
    # the rarest words of their first text.
    groups, firsts, matchers, index = [], [], {}, defaultdict(list)

    def matcher(number):
        if number not in matchers:
            matchers[number] = SequenceMatcher(None, b=firsts[number], autojunk=False)
        return matchers[number]

    for text, members in by_text.items():
        words = text.split()
        rarest = sorted(tagged[text], key=lambda token: (frequency[token], token))
        prefix = rarest[: _prefix_length(len(words), threshold)]
        for number in sorted({number for token in prefix for number in index[token]}):
            if budget.spend() and is_similar(words, matcher(number), threshold):
                groups[number].comments.extend(members)
                break
        else:
            for token in prefix:
                index[token].append(len(groups))
            groups.append(SimilarGroup(list(members)))
            firsts.append(words)
    found = [group for group in groups if len(group) > 1]
    for group in found:
        group.comments.sort(key=lambda comment: (comment.created_at, comment.pk))
    return found


def pending_for_grouping(article_id=None, limit=GROUPING_LIMIT):
    """Return each article's oldest ``limit`` pending comments, by article then age (one query)."""
    queryset = Comment.objects.pending()
    if article_id is not None:
        queryset = queryset.filter(article_id=article_id)
    rank = Window(RowNumber(), partition_by="article_id", order_by=["created_at", "pk"])
    return (
        queryset.annotate(rank=rank)
        .filter(rank__lte=limit)
        .select_related("article")
        .only(
            "body",
            "body_html",
            "author_name",
            "author_email",
            "created_at",
            "status",
            "article__title",
            "article__slug",
        )
        .order_by("article__title", "article_id", "created_at", "pk")
    )


def similar_groups(comments, threshold=SIMILARITY):
    """Return the similar groups among pending comments of any articles, largest first."""
    by_article = defaultdict(list)
    for comment in comments:
        by_article[comment.article_id].append(comment)
    budget = Budget()
    groups = [
        group for batch in by_article.values() for group in group_similar(batch, threshold, budget)
    ]
    return sorted(groups, key=lambda group: -len(group))


# The rules dry run

HELD = "held"
SPAMMED = "spam"
LET_THROUGH = "let through"
OUTCOMES = [HELD, SPAMMED, LET_THROUGH]


def outcome(verdict):
    """Name what a verdict does: a rule held it, a rule spammed it, or no rule stopped it.

    Every comment waits for a moderator unless a rule says otherwise, so "let through" covers
    both the ordinary queue and publication for a known commenter.
    """
    if verdict.status == Comment.Status.SPAM:
        return SPAMMED
    if verdict.status == Comment.Status.PENDING and verdict.reason != AWAITING_MODERATION:
        return HELD
    return LET_THROUGH


def decided_comments(size=None):
    """Return the last ``size`` comments moderators decided, most recent decision first."""
    size = settings.COMMENTS_DRY_RUN_SIZE if size is None else size
    return Comment.objects.filter(status__in=DECIDED, moderated_at__isnull=False).order_by(
        "-moderated_at", "-pk"
    )[:size]


def known_commenter_test(comments):
    """Return a function telling whether a comment's author had an approved comment before it.

    One query covers all the comments, instead of one ``is_known_commenter`` query each; a
    comment never makes its own author known.
    """
    emails = {comment.author_email.lower() for comment in comments}
    first_approved = dict(
        Comment.objects.approved()
        .annotate(email=Lower("author_email"))
        .filter(email__in=emails)
        .values("email")
        .annotate(first=Min("created_at"))
        .values_list("email", "first")
    )

    def is_known(comment):
        first = first_approved.get(comment.author_email.lower())
        return first is not None and first < comment.created_at

    return is_known


@dataclass(frozen=True)
class Replay:
    """One decided comment, replayed through the candidate rules and the current ones."""

    comment: Comment
    outcome: str
    reason: str
    current_outcome: str
    current_reason: str

    @property
    def decision(self):
        return self.comment.status

    @property
    def is_changed(self):
        return self.outcome != self.current_outcome


@dataclass
class DryRunReport:
    """What candidate rules would have done to decided comments, by moderators' decision."""

    replays: list

    labels = [status.label for status in DECIDED]

    def count(self, outcome, decision):
        return sum(1 for r in self.replays if (r.outcome, r.decision) == (outcome, decision))

    @property
    def table(self):
        """Return {outcome: {decision: count}} for every outcome and decision."""
        return {o: {d: self.count(o, d) for d in DECIDED} for o in OUTCOMES}

    @property
    def rows(self):
        """Return (outcome, counts in ``DECIDED`` order, row total) for the template."""
        table = self.table
        return [(o, list(table[o].values()), sum(table[o].values())) for o in OUTCOMES]

    @property
    def totals(self):
        """Return the column totals in ``DECIDED`` order."""
        return [sum(1 for r in self.replays if r.decision == d) for d in DECIDED]

    @property
    def changed(self):
        """Return the replays whose outcome these rules change from the current rules'."""
        return [replay for replay in self.replays if replay.is_changed]

    def __len__(self):
        return len(self.replays)


def dry_run(rules, comments, current_rules, is_known=None):
    """Replay decided comments through candidate rules and the current rules; return a report.

    Only checks that need no request take part (``spam.assess_with_rules``). ``is_known``
    defaults to one query for the known commenters among ``comments``.
    """
    comments = list(comments)
    if is_known is None:
        is_known = known_commenter_test(comments)
    replays = []
    for comment in comments:
        new = assess_with_rules(comment, rules, is_known)
        old = assess_with_rules(comment, current_rules, is_known)
        replays.append(Replay(comment, outcome(new), new.reason, outcome(old), old.reason))
    return DryRunReport(replays)
