"""The moderation record: per-day counts, decision times, the queue's age and held reasons."""

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from comments import dashboard
from comments.models import Comment
from tests.conftest import make_article, make_comment

pytestmark = pytest.mark.django_db

P, A, R, S = (
    Comment.Status.PENDING,
    Comment.Status.APPROVED,
    Comment.Status.REJECTED,
    Comment.Status.SPAM,
)
DASHBOARD = "admin:comments_dashboard"


def local(days_ago, hour=0, minute=0):
    """Return an aware moment on a local calendar day; midnight today is never in the future."""
    day = timezone.localdate() - timedelta(days=days_ago)
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def posted(article, created_at, status=A, **fields):
    return make_comment(article, "A perspective.", status=status, created_at=created_at, **fields)


@pytest.fixture
def month(article):
    """Ten comments inside the 30-day window and one just before it."""
    for status in [P, P, A]:
        posted(article, local(0), status)
    for status in [R, S, S]:
        posted(article, local(1, 12), status)
    for _ in range(3):
        posted(article, local(5, 9))
    posted(article, local(29, 0))
    posted(article, local(30, 23, 59))


def test_each_day_of_the_window_counts_comments_by_status(month):
    days = dashboard.daily_counts(Comment.objects.all())
    assert len(days) == 30
    assert days[0].date == timezone.localdate() - timedelta(days=29)
    assert days[-1].date == timezone.localdate()
    assert days[-1].counts == {A: 1, R: 0, S: 0, P: 2}
    assert days[-2].counts == {A: 0, R: 1, S: 2, P: 0}
    assert days[-6].counts == {A: 3, R: 0, S: 0, P: 0}
    assert days[0].counts == {A: 1, R: 0, S: 0, P: 0}
    assert sum(day.total for day in days) == 10
    assert [day.total for day in days].count(0) == 26


def test_days_are_the_sites_local_days(settings, article):
    """23:59 and 00:00 in Tokyo are one UTC day but two local days."""
    settings.TIME_ZONE = "Asia/Tokyo"
    posted(article, local(1, 23, 59))
    posted(article, local(0))
    assert local(0).astimezone(UTC).date() == local(1, 23, 59).astimezone(UTC).date()
    days = dashboard.daily_counts(Comment.objects.all())
    assert [days[-2].total, days[-1].total] == [1, 1]


def decided(article, hours_waited, decided_days_ago=1, status=A):
    moderated_at = timezone.now() - timedelta(days=decided_days_ago)
    created_at = moderated_at - timedelta(hours=hours_waited)
    return posted(article, created_at, status, moderated_at=moderated_at)


def test_median_time_to_a_decision(article):
    for hours, status in [(1, A), (2, R), (4, S), (10, A)]:
        decided(article, hours, status=status)
    decided(article, 100, decided_days_ago=40)  # decided before the window
    posted(article, timezone.now() - timedelta(hours=500), P)
    since = dashboard.window_start()
    assert dashboard.median_decision_time(Comment.objects.all(), since) == timedelta(hours=3)
    decided(article, 20)
    assert dashboard.median_decision_time(Comment.objects.all(), since) == timedelta(hours=4)


def test_median_of_nothing_is_none(article):
    assert dashboard.median_decision_time(Comment.objects.all(), dashboard.window_start()) is None


def test_the_queues_size_oldest_and_median_wait(article):
    now = timezone.now()
    for hours in [1, 3, 8]:
        posted(article, now - timedelta(hours=hours), P)
    posted(article, now - timedelta(hours=50), A)
    assert dashboard.queue_age(Comment.objects.all(), now) == dashboard.QueueAge(
        3, timedelta(hours=8), timedelta(hours=3)
    )
    assert dashboard.queue_age(Comment.objects.none(), now) == dashboard.QueueAge(0, None, None)


def test_top_reasons_the_rules_held_comments(article):
    reasons = [
        ("Held: 3 links (more than 2)", 4),
        ("Spam: contains disallowed word “casino” in text", 3),
        ("Held: contains moderation word “crypto” in name", 2),
        ("Held: 4 links (more than 2)", 2),
        ("Held: too fast", 1),
        ("Spam: honeypot filled", 1),
        # Not reasons to hold: the default wait, a known commenter, a moderator's own mark.
        ("Awaiting moderation", 9),
        ("Approved: known commenter", 9),
        ("Spam: marked by a moderator", 9),
        ("", 9),
    ]
    for reason, count in reasons:
        for _ in range(count):
            posted(article, local(2), P, moderation_reason=reason)
    posted(article, local(45), S, moderation_reason="Held: 3 links (more than 2)")
    assert dashboard.top_reasons(Comment.objects.all(), dashboard.window_start()) == [
        ("Held: 3 links (more than 2)", 4),
        ("Spam: contains disallowed word “casino” in text", 3),
        ("Held: 4 links (more than 2)", 2),
        ("Held: contains moderation word “crypto” in name", 2),
        ("Held: too fast", 1),
    ]


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (None, "—"),
        (timedelta(0), "0 seconds"),
        (timedelta(seconds=45), "45 seconds"),
        (timedelta(minutes=1, seconds=5), "1 minute 5 seconds"),
        (timedelta(hours=3), "3 hours"),
        (timedelta(days=2, hours=3, minutes=4), "2 days 3 hours"),
        (timedelta(days=2, minutes=5), "2 days"),
    ],
)
def test_durations_read_as_their_two_largest_units(duration, text):
    assert dashboard.describe(duration) == text


@pytest.mark.parametrize(
    ("largest", "scale"), [(0, (1, 1)), (5, (5, 1)), (7, (8, 2)), (23, (25, 5)), (101, (150, 50))]
)
def test_the_axis_uses_round_steps(largest, scale):
    assert dashboard.nice_scale(largest) == scale


def test_bars_are_stacked_to_scale(month):
    chart = dashboard.chart(dashboard.daily_counts(Comment.objects.all()))
    plot_height = chart["baseline"] - chart["top"]
    assert [value for value, _ in chart["ticks"]] == [0, 1, 2, 3]
    today = chart["bars"][-1]
    assert [(s.status, s.count) for s in today.segments] == [(A, 1), (P, 2)]
    assert sum(s.height for s in today.segments) == pytest.approx(plot_height)
    assert today.segments[0].y + today.segments[0].height == pytest.approx(chart["baseline"])
    assert chart["bars"][-3].segments == []
    assert [bar.show_label for bar in chart["bars"]].count(True) == 5
    assert today.show_label and "3 comments (1 approved, 0 rejected, 0 spam, 2 pending)" in (
        today.title
    )


def test_the_record_gathers_it_all(month, article):
    record = dashboard.record()
    assert record.total == 10
    assert record.totals == [
        ("approved", "Approved", 5),
        ("rejected", "Rejected", 1),
        ("spam", "Spam", 2),
        ("pending", "Pending", 2),
    ]
    assert record.queue.count == 2


# The page


def test_the_page_shows_the_chart_the_table_and_the_figures(moderator_client, month, article):
    decided(article, 2)
    posted(article, local(3), P, moderation_reason="Held: 3 links (more than 2)")
    response = moderator_client.get(reverse(DASHBOARD))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<svg class="record-chart" viewBox="0 0 720 280" role="img"' in html
    assert 'aria-label="Stacked bars of comments received each day for the last 30 days' in html
    chart = html.split('<svg class="record-chart"')[1].split("</svg>")[0]
    assert chart.count('<g class="bar">') == 30 and chart.count("<title>") == 30
    assert 'class="seg seg-pending"' in html and 'class="seg seg-spam"' in html
    today = timezone.localdate()
    assert f"{today:%a %d %b}: 3 comments (1 approved, 0 rejected, 0 spam, 2 pending)" in html
    assert f'<time datetime="{today:%Y-%m-%d}">' in html
    assert "<dt>Median time to a decision</dt><dd>2 hours</dd>" in html
    assert "<dt>Waiting for a moderator</dt>" in html
    assert "<td>Held: 3 links (more than 2)</td><td>1</td>" in html
    assert "<script" not in html.split('<div id="content-main">')[1]
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing from a CDN


def test_the_page_takes_the_same_queries_however_many_comments(
    moderator_client, article, django_assert_max_num_queries
):
    """Every figure is computed even for few comments, so the counts compare like with like."""
    posted(article, local(1), P, moderation_reason="Held: too fast")
    decided(article, 2)
    moderator_client.get(reverse(DASHBOARD))
    with django_assert_max_num_queries(12) as few:
        moderator_client.get(reverse(DASHBOARD))
    other = make_article("Another", sections=0)
    for days_ago in range(40):
        for status in [P, A, R, S]:
            posted(other, local(days_ago, 1), status, moderated_at=local(days_ago, 2))
            posted(article, local(days_ago, 1), status, moderation_reason=f"Held: {days_ago}")
    with django_assert_max_num_queries(len(few)) as many:
        response = moderator_client.get(reverse(DASHBOARD))
    assert len(many) == len(few)
    assert response.context["record"].total == 30 * 8 + 2


def test_the_record_is_linked_from_the_admin_index_and_the_queue(moderator_client):
    url = reverse(DASHBOARD)
    assert f'href="{url}"' in moderator_client.get(reverse("admin:index")).content.decode()
    queue = moderator_client.get(reverse("admin:comments_comment_changelist"))
    assert f'href="{url}"' in queue.content.decode()


def test_staff_without_comment_permissions_see_no_link(client, django_user_model):
    client.force_login(
        django_user_model.objects.create_user("writer", password="pw", is_staff=True)
    )
    assert reverse(DASHBOARD) not in client.get(reverse("admin:index")).content.decode()
