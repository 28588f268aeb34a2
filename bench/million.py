"""Time the moderation queue and a very long thread on a database of a million comments.

    DATABASE_URL=postgres://…/perspectives_million python manage.py migrate
    DATABASE_URL=postgres://…/perspectives_million python manage.py generate_comments
    DATABASE_URL=postgres://…/perspectives_million python -m bench.million

Each page is requested in-process through Django's test client as a superuser (the admin) or
an anonymous reader with every cache off (the article), five times after one warm-up; the
median is reported, with the slowest SQL statement of each page and its EXPLAIN ANALYZE plan.
"""

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")
# Nothing cached: every figure below is the full work of its page.
os.environ["ARTICLE_PAGE_CACHE_SECONDS"] = "0"
os.environ["ARTICLE_FRAGMENT_CACHE_SECONDS"] = "0"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from comments.models import Comment  # noqa: E402

settings.ALLOWED_HOSTS = ["*"]
RUNS = 5


def measure(client, url):
    """Return the page's median time in ms, its query count and its slowest statement."""
    client.get(url)
    timings, durations = [], []

    def timed(execute, sql, params, many, context):
        # Django records query times to the millisecond; these are often well under one.
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            durations.append(time.perf_counter() - start)

    for _ in range(RUNS):
        durations.clear()
        with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(timed):
            start = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    # The wrapper and the capture see the same statements in the same order.
    statements = [query["sql"] for query in queries.captured_queries]
    _, slowest = max(zip(durations, statements, strict=True))
    return statistics.median(timings), len(queries.captured_queries), slowest


def explain(sql):
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN ANALYZE " + sql)
        return "\n".join("    " + row[0] for row in cursor.fetchall())


def main():
    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL: set DATABASE_URL.")
    total = Comment.objects.count()
    big = (
        Comment.objects.values("article")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("article", "n")
        .first()
    )
    article_id, article_comments = big
    from blog.models import Article

    article = Article.objects.get(pk=article_id)
    email = Comment.objects.filter(article=article).values_list("author_email", flat=True)[0]
    admin, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    staff = Client()
    staff.force_login(admin)
    reader = Client()
    queue = "/admin/comments/comment/"
    pages = [
        ("moderation queue, first page", staff, queue),
        (
            "queue filtered by status + article",
            staff,
            f"{queue}?status=pending&article__id__exact={article_id}",
        ),
        ("queue search by email", staff, f"{queue}?status=all&q={email}"),
        (
            f"article page, {article_comments:,} comments, uncached",
            reader,
            article.get_absolute_url(),
        ),
    ]
    print(f"{total:,} comments in the database\n")
    print("| page | median ms | queries |\n|---|---:|---:|")
    plans = []
    for name, client, url in pages:
        median, count, sql = measure(client, url)
        print(f"| {name} | {median:.1f} | {count} |")
        plans.append((name, sql))
    for name, sql in plans:
        print(f"\nSlowest statement of “{name}”:\n    {sql[:600]}\n{explain(sql)}")


if __name__ == "__main__":
    main()
