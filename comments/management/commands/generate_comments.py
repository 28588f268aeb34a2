import random
import sys
import time
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from blog.models import Article, Section
from blog.rendering import render_comment, render_markdown
from comments.models import Comment

WORDS = [
    "budget", "deterrence", "alliance", "procurement", "maintenance", "cyber", "maritime",
    "diplomacy", "readiness", "interoperability", "transparency", "forecast", "allocation",
    "surveillance", "constitution", "export", "partnership", "escalation", "region",
    "security", "economy", "policy", "planners", "analysts", "investors",
]  # fmt: skip
STATUS_WEIGHTS = [
    (Comment.Status.APPROVED, 70),
    (Comment.Status.PENDING, 12),
    (Comment.Status.REJECTED, 10),
    (Comment.Status.SPAM, 8),
]
REASONS = {
    Comment.Status.PENDING: "Awaiting moderation",
    Comment.Status.SPAM: "Spam: contains disallowed word",
}


class Command(BaseCommand):
    help = (
        "Generate realistic articles and comments in bulk, for load and query-plan testing. "
        "It adds to what is there; every generated article is published."
    )

    def add_arguments(self, parser):
        parser.add_argument("--articles", type=int, default=1000)
        parser.add_argument("--comments", type=int, default=1_000_000)
        parser.add_argument(
            "--big-article-comments",
            type=int,
            default=10_000,
            help="Comments on the first generated article, to measure a very long thread.",
        )
        parser.add_argument("--commenters", type=int, default=50_000)
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, **options):
        if options["comments"] < options["big_article_comments"]:
            raise CommandError("--comments must be at least --big-article-comments")
        rng = random.Random(options["seed"])
        generated = self.create_articles(options["articles"], rng)
        self.create_comments(generated, rng, options)
        if connection.vendor == "postgresql":
            # Planner statistics for the new rows now, not whenever autovacuum gets to them:
            # until then the queue's plans are guesses.
            self.stdout.write("Analysing the tables…")
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")

    def create_articles(self, count, rng):
        now = timezone.now()
        stamp = int(time.time())
        intro = "Generated article for load testing."
        articles = Article.objects.bulk_create(
            Article(
                title=f"Generated analysis {stamp}-{number}",
                slug=slugify(f"generated-{stamp}-{number}"),
                headline="A generated article",
                introduction=intro,
                introduction_html=render_markdown(intro),
                status=Article.Status.PUBLISHED,
                published_at=now - timedelta(days=rng.randint(1, 900)),
                word_count=1200,
            )
            for number in range(count)
        )
        body = "Generated section text. " * 40
        Section.objects.bulk_create(
            Section(
                article=article,
                position=0,
                heading="Generated section",
                anchor="generated-section",
                body=body,
                body_html=render_markdown(body),
            )
            for article in articles
        )
        self.stdout.write(f"Created {len(articles)} articles")
        return articles

    def create_comments(self, articles, rng, options):
        total, batch_size = options["comments"], options["batch_size"]
        bodies = [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 80))).capitalize() + "."
            for _ in range(200)
        ]
        rendered = {body: render_comment(body) for body in bodies}
        statuses, weights = zip(*STATUS_WEIGHTS, strict=True)
        big, big_count = articles[0], options["big_article_comments"]
        start = timezone.now() - timedelta(days=365)
        made, started = 0, time.monotonic()
        recent_approved = {}
        while made < total:
            batch = []
            for number in range(made, min(made + batch_size, total)):
                article = big if number < big_count else rng.choice(articles)
                status = rng.choices(statuses, weights)[0]
                commenter = rng.randrange(options["commenters"])
                parent = None
                candidates = recent_approved.get(article.pk)
                if status == Comment.Status.APPROVED and candidates and rng.random() < 0.3:
                    parent = rng.choice(candidates)
                body = rng.choice(bodies)
                created = start + timedelta(seconds=number * 31_536_000 // total)
                batch.append(
                    Comment(
                        article=article,
                        parent=parent,
                        depth=min(parent.depth + 1, 2) if parent else 0,
                        author_name=f"Commenter {commenter}",
                        author_email=f"commenter{commenter}@example.org",
                        body=body,
                        body_html=rendered[body],
                        status=status,
                        created_at=created,
                        moderated_at=None if status == "pending" else created,
                        moderation_reason=REASONS.get(status, ""),
                        ip_address=f"10.{commenter % 250}.{rng.randrange(250)}.{number % 250}",
                        user_agent="Mozilla/5.0 (generated)",
                    )
                )
            with transaction.atomic():
                created_batch = Comment.objects.bulk_create(batch)
            for comment in created_batch:
                if comment.status == Comment.Status.APPROVED and comment.depth < 2:
                    pool = recent_approved.setdefault(comment.article_id, [])
                    pool.append(comment)
                    del pool[:-20]
            made += len(batch)
            self.progress(made, total, started)
        sys.stderr.write("\n")
        self.stdout.write(f"Created {made} comments ({big_count} on {big.get_absolute_url()})")

    def progress(self, done, total, started):
        width = 40
        filled = width * done // total
        rate = done / max(time.monotonic() - started, 1e-6)
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} comments, {rate:,.0f}/s"
        )
        sys.stderr.flush()
