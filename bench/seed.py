"""Seed benchmark articles: the demo article's text with N approved, threaded comments."""

import random
import tempfile
from datetime import timedelta
from pathlib import Path

from django.db import connection
from django.utils import timezone

from blog.importing import import_article
from blog.management.commands.load_demo import DEMO_ARTICLE
from blog.models import Article
from blog.rendering import render_comment
from comments.models import Comment

SENTENCES = [
    "The budget figures deserve a closer look before anyone calls this a shift.",
    "Interoperability is the real story here, not the headline spending number.",
    "I worked on procurement for years and maintenance costs are always underestimated.",
    "Diplomacy and deterrence are not opposites; the article could say so more clearly.",
    "Cyber defence spending is the most cost-effective line in the whole budget.",
    "Article 9 still shapes what is politically possible, whatever the planners want.",
    "Regional partners will read these moves very differently from Brussels.",
    "A transparent review of each expenditure is overdue, as the insight suggests.",
]


def seed_articles(sizes, seed=7):
    """Create one article per size (slug bench-N); return {size: slug}."""
    rng = random.Random(seed)
    slugs = {}
    for size in sizes:
        slug = f"bench-{size}"
        Article.objects.filter(slug=slug).delete()
        with tempfile.TemporaryDirectory() as tmp:
            source = DEMO_ARTICLE.read_text(encoding="utf-8")
            source = source.replace('slug = "japan-nato-defense-spending-2025"', f'slug = "{slug}"')
            path = Path(tmp) / f"{slug}.md"
            path.write_text(source, encoding="utf-8")
            (Path(tmp) / "images").symlink_to(DEMO_ARTICLE.parent / "images")
            article, _ = import_article(path)
        add_comments(article, size, rng)
        slugs[size] = slug
    if connection.vendor == "postgresql":
        # Clear the rows the previous run deleted and refresh statistics, as autovacuum keeps a
        # live site: plans must not depend on whether it happened to run since the reseed.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return slugs


def add_comments(article, count, rng, max_depth=3):
    """Add count approved comments: about 40% start threads, the rest reply up to max_depth."""
    start = timezone.now() - timedelta(days=30)
    levels = [[] for _ in range(max_depth)]
    planned = []
    for number in range(count):
        depth = 0 if number < 3 or rng.random() < 0.4 else rng.randint(1, max_depth - 1)
        planned.append((number, depth))
    for depth in range(max_depth):
        batch = []
        for number, wanted in planned:
            if wanted != depth:
                continue
            parent = rng.choice(levels[depth - 1]) if depth and levels[depth - 1] else None
            body = " ".join(rng.sample(SENTENCES, rng.randint(2, 4)))
            batch.append(
                Comment(
                    article=article,
                    parent=parent,
                    depth=depth if parent else 0,
                    author_name=f"Reader {number}",
                    author_email=f"reader{number}@example.org",
                    author_url="https://example.org/" if number % 5 == 0 else "",
                    body=body,
                    body_html=render_comment(body),
                    status=Comment.Status.APPROVED,
                    created_at=start + timedelta(minutes=number),
                    moderation_reason="",
                )
            )
        levels[depth] = Comment.objects.bulk_create(batch, batch_size=1000)
    return count
