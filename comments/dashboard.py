"""The moderation record: how many comments arrive, how they are decided, and how fast.

Pure functions over querysets; ``record()`` gathers them for the admin dashboard page in a
fixed number of queries, whatever the number of comments.
"""

import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cached_property

from django.db import connections
from django.db.models import (
    Aggregate,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Min,
    Q,
    Value,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from .models import Comment

DAYS = 30
TOP_REASONS = 5
# The chart stacks statuses from the bottom up in this order, so the queue sits on top.
STATUSES = [
    Comment.Status.APPROVED,
    Comment.Status.REJECTED,
    Comment.Status.SPAM,
    Comment.Status.PENDING,
]
DECIDED = [Comment.Status.APPROVED, Comment.Status.REJECTED, Comment.Status.SPAM]
# Auto-moderation reasons start with these (comments/spam.py). A moderator's own spam mark
# (CommentQuerySet.mark_spam) says nothing about why the rules held the comment.
HELD_PREFIXES = ("Held:", "Spam:")
MODERATOR_SPAM_REASON = "Spam: marked by a moderator"


def window_start(days=DAYS, today=None):
    """Return the aware start of the window: local midnight ``days - 1`` days before today."""
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    return timezone.make_aware(datetime.combine(first, time.min))


@dataclass
class Day:
    date: object
    counts: dict

    @property
    def total(self):
        return sum(self.counts.values())

    @property
    def in_order(self):
        """Return (status, label, count) in chart order."""
        return [(s.value, s.label, self.counts[s]) for s in STATUSES]


def daily_counts(queryset, days=DAYS, today=None):
    """Return one Day per local calendar day of the window, with comments created by status.

    One query: the database truncates ``created_at`` to the day in the current time zone.
    """
    today = today or timezone.localdate()
    rows = (
        queryset.filter(created_at__gte=window_start(days, today))
        .annotate(day=TruncDate("created_at"))
        .values("day", "status")
        .annotate(count=Count("pk"))
        .order_by()
    )
    found = {(row["day"], row["status"]): row["count"] for row in rows}
    dates = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    return [Day(date, {s: found.get((date, s.value), 0) for s in STATUSES}) for date in dates]


class Median(Aggregate):
    """PostgreSQL's continuous median; other databases go through ``median_duration``."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


def median_duration(queryset, expression):
    """Return the median of a duration expression over the queryset, or None when empty.

    PostgreSQL computes it in one query; elsewhere two queries fetch the middle row or two, so
    no backend loads the whole set. Both average the middle pair of an even count.
    """
    if connections[queryset.db].vendor == "postgresql":
        return queryset.aggregate(median=Median(expression))["median"]
    count = queryset.count()
    if not count:
        return None
    middle = list(
        queryset.annotate(duration=expression)
        .order_by("duration")
        .values_list("duration", flat=True)[(count - 1) // 2 : count // 2 + 1]
    )
    return sum(middle, timedelta()) / len(middle)


def decision_time():
    """Return the expression for how long a comment waited for its decision."""
    return ExpressionWrapper(F("moderated_at") - F("created_at"), output_field=DurationField())


def median_decision_time(queryset, since):
    """Return the median wait from posting to a moderator's decision, for decisions since."""
    decided = queryset.filter(status__in=DECIDED, moderated_at__gte=since)
    return median_duration(decided, decision_time())


@dataclass
class QueueAge:
    count: int
    oldest: timedelta | None
    median: timedelta | None


def queue_age(queryset, now=None):
    """Return how many comments wait, how long the oldest has, and the median wait so far."""
    now = now or timezone.now()
    pending = queryset.filter(status=Comment.Status.PENDING)
    found = pending.aggregate(count=Count("pk"), first=Min("created_at"))
    if not found["count"]:
        return QueueAge(0, None, None)
    waited = ExpressionWrapper(
        Value(now, output_field=DateTimeField()) - F("created_at"), output_field=DurationField()
    )
    return QueueAge(found["count"], now - found["first"], median_duration(pending, waited))


def top_reasons(queryset, since, limit=TOP_REASONS):
    """Return (reason, count) for the rules' most frequent reasons to hold or flag, since."""
    held = Q()
    for prefix in HELD_PREFIXES:
        held |= Q(moderation_reason__startswith=prefix)
    rows = (
        queryset.filter(held, created_at__gte=since)
        .exclude(moderation_reason=MODERATOR_SPAM_REASON)
        .values("moderation_reason")
        .annotate(count=Count("pk"))
        .order_by("-count", "moderation_reason")[:limit]
    )
    return [(row["moderation_reason"], row["count"]) for row in rows]


def describe(duration):
    """Return a duration as its two largest units ("2 days 3 hours"), or "—" for none."""
    if duration is None:
        return "—"
    seconds = max(int(duration.total_seconds()), 0)
    parts = []
    for unit, size in [("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)]:
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount} {unit}{'' if amount == 1 else 's'}")
        # Two neighbouring units at most: "2 days 3 hours", "2 days" rather than "2 days 5 s".
        if len(parts) == 2 or (parts and not amount):
            break
    return " ".join(parts) or "0 seconds"


# The chart: geometry worked out here so the template only writes it down.

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 44
LABEL_EVERY = 7


def nice_scale(largest, most_ticks=5):
    """Return (top, step): a round step (1, 2 or 5 × 10ⁿ) and the axis top it reaches."""
    step = 1
    while math.ceil(largest / step) > most_ticks:
        for factor in (2, 2.5, 2):
            step *= factor
            if math.ceil(largest / step) <= most_ticks:
                break
    step = int(step)
    return max(step, step * math.ceil(largest / step)), step


@dataclass
class Segment:
    status: str
    label: str
    count: int
    y: float
    height: float


@dataclass
class Bar:
    day: Day
    x: float
    width: float
    segments: list
    show_label: bool

    @property
    def centre(self):
        return round(self.x + self.width / 2, 1)

    @property
    def title(self):
        parts = ", ".join(f"{count} {label.lower()}" for _, label, count in self.day.in_order)
        return f"{self.day.date:%a %d %b}: {self.day.total} comments ({parts})"


def chart(days):
    """Return the stacked-bar geometry for a list of Days, in SVG user units."""
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top, step = nice_scale(max((day.total for day in days), default=0))
    scale = plot_height / top
    slot = plot_width / max(len(days), 1)
    bars = []
    for index, day in enumerate(days):
        base = TOP + plot_height
        segments = []
        for status, label, count in day.in_order:
            height = count * scale
            base -= height
            if count:
                segments.append(Segment(status, label, count, round(base, 1), round(height, 1)))
        from_end = len(days) - 1 - index
        bars.append(
            Bar(
                day,
                round(LEFT + index * slot + slot * 0.15, 1),
                round(slot * 0.7, 1),
                segments,
                show_label=from_end % LABEL_EVERY == 0,
            )
        )
    ticks = [
        (value, round(TOP + plot_height - value * scale, 1)) for value in range(0, top + 1, step)
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "plot_height": plot_height,
        "baseline": TOP + plot_height,
        "tick_x": LEFT - 6,
        "label_y": TOP + plot_height + 18,
        "x_title_x": LEFT + plot_width / 2,
        "x_title_y": HEIGHT - 6,
        # The y-axis title is turned a quarter left, so its x is minus the plot's middle.
        "y_title_x": -(TOP + plot_height / 2),
        "y_title_y": 12,
        "bars": bars,
        "ticks": ticks,
    }


@dataclass
class Record:
    days: list
    median_decision: timedelta | None
    queue: QueueAge
    reasons: list

    @property
    def totals(self):
        """Return (status, label, count) over the window, in chart order."""
        return [(s.value, s.label, sum(day.counts[s] for day in self.days)) for s in STATUSES]

    @property
    def total(self):
        return sum(day.total for day in self.days)

    @cached_property
    def chart(self):
        return chart(self.days)

    @property
    def median_decision_text(self):
        return describe(self.median_decision)

    @property
    def oldest_pending_text(self):
        return describe(self.queue.oldest)

    @property
    def median_pending_text(self):
        return describe(self.queue.median)


def record(queryset=None, days=DAYS, now=None):
    """Return the moderation record for the last ``days`` days."""
    queryset = Comment.objects.all() if queryset is None else queryset
    now = now or timezone.now()
    today = timezone.localdate(now)
    since = window_start(days, today)
    return Record(
        days=daily_counts(queryset, days, today),
        median_decision=median_decision_time(queryset, since),
        queue=queue_age(queryset, now),
        reasons=top_reasons(queryset, since),
    )
