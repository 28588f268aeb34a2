"""Read an article from a Markdown file with TOML front matter, and store it.

The format, line by line::

    +++
    title = "Navigating New Waters"
    slug = "navigating-new-waters"        # optional: made from the title
    kicker = "Blog Post"
    headline = "March Shifts, Future Tides"
    published_at = 2025-03-31T09:00:00Z   # optional; a future time schedules the article
    status = "published"                  # or "draft"
    tags = ["Japan", "NATO"]
    +++
    The introduction: markdown up to the first section line.

    === section: Why March Matters        (a body section; "=== section" alone has no heading)
    Markdown body, with ### sub-headings.

    ::: insights
    - Policymakers and defense planners :: should regularly review ...
    - Defense policymakers :: should integrate ... :: Policymakers
    :::
    ::: figure bottom                     (or top: before the section's text)
    image: images/budget-discussion.png   (relative to this file)
    alt: What the picture shows
    caption: Budget Discussion
    :::

    === key-axes: Revisiting Our Key Axes (its ::: key-points come before its text)
    === discussion: Your Thoughts
    === call-to-action: Ready to Share Your Perspective?

An insight line is "- audience :: action", with an optional third part naming the audience
group it is listed under on the insights pages ("… :: Policymakers"). Without one, the group is
the existing Audience whose name is the audience words, ignoring case, or a new one named so;
but an insight re-imported with the same words keeps its group, so groups that staff merged in
the admin stay merged.

Importing is idempotent: the slug finds the article, and sections, insights and key points
are updated in place by position, so re-importing never duplicates and keeps their ids.
"""

import hashlib
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from .models import Article, Audience, Insight, KeyPoint, Section, Tag

SECTION_KINDS = {
    "section": Section.Kind.BODY,
    "key-axes": Section.Kind.KEY_AXES,
    "discussion": Section.Kind.DISCUSSION,
    "call-to-action": Section.Kind.CALL_TO_ACTION,
}
FRONT_MATTER_KEYS = {"title", "slug", "kicker", "headline", "published_at", "status", "tags"}
FIGURE_KEYS = {"image", "alt", "caption"}


class ArticleFormatError(ValueError):
    """A malformed article file; the message names the line."""

    def __init__(self, line, message):
        self.line = line
        super().__init__(f"line {line}: {message}")


@dataclass
class ParsedSection:
    kind: str
    heading: str
    line: int
    body: list = field(default_factory=list)
    insights: list = field(default_factory=list)
    key_points: list = field(default_factory=list)
    figure: dict = field(default_factory=dict)
    figure_placement: str = Section.FigurePlacement.BOTTOM


@dataclass
class ParsedArticle:
    meta: dict
    introduction: str
    sections: list


def parse_article(text):
    """Parse the text of an article file into a ParsedArticle, or raise ArticleFormatError."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "+++":
        raise ArticleFormatError(1, "the file must start with '+++', opening the front matter")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "+++")
    except StopIteration:
        raise ArticleFormatError(1, "the front matter opened here is never closed") from None
    meta = _parse_front_matter(lines[1:end], first_line=2)

    introduction, sections, block = [], [], None
    for number, line in enumerate(lines[end + 1 :], start=end + 2):
        stripped = line.strip()
        if block is not None:
            if stripped == ":::":
                block = None
            else:
                _add_block_line(sections[-1], block, stripped, number)
        elif line.startswith("=== "):
            kind, _, heading = line[4:].partition(":")
            kind = kind.strip()
            if kind not in SECTION_KINDS:
                raise ArticleFormatError(
                    number, f"unknown section kind {kind!r}; use one of {', '.join(SECTION_KINDS)}"
                )
            sections.append(ParsedSection(SECTION_KINDS[kind], heading.strip(), number))
        elif line.startswith("::: "):
            if not sections:
                raise ArticleFormatError(number, "a ::: block must be inside a section")
            block = _open_block(sections[-1], stripped[4:].split(), number)
        elif sections:
            sections[-1].body.append(line)
        else:
            introduction.append(line)
    if block is not None:
        raise ArticleFormatError(len(lines), f"the ::: {block} block is never closed")
    for section in sections:
        if section.figure and not {"image", "alt"} <= section.figure.keys():
            raise ArticleFormatError(section.line, "a figure needs an image and alt text")
    return ParsedArticle(meta, "\n".join(introduction).strip(), sections)


def _parse_front_matter(lines, first_line):
    try:
        meta = tomllib.loads("\n".join(lines))
    except tomllib.TOMLDecodeError as error:
        # tomllib reports "(at line N, column M)" counted from the front matter's first line.
        message = str(error)
        line = first_line
        if "at line " in message:
            line += int(message.split("at line ")[1].split(",")[0]) - 1
        raise ArticleFormatError(line, f"front matter is not valid TOML: {message}") from None
    unknown = set(meta) - FRONT_MATTER_KEYS
    if unknown:
        raise ArticleFormatError(
            first_line, f"unknown front matter keys: {', '.join(sorted(unknown))}"
        )
    if not str(meta.get("title", "")).strip():
        raise ArticleFormatError(first_line, "the front matter needs a title")
    if meta.get("status", "published") not in Article.Status.values:
        raise ArticleFormatError(first_line, "status must be 'draft' or 'published'")
    return meta


def _open_block(section, words, number):
    name = words[0] if words else ""
    if name == "figure":
        placement = words[1] if len(words) > 1 else Section.FigurePlacement.BOTTOM
        if placement not in Section.FigurePlacement.values:
            raise ArticleFormatError(number, "a figure is placed 'top' or 'bottom'")
        if section.figure:
            raise ArticleFormatError(number, "a section has at most one figure")
        section.figure_placement = placement
        section.figure = {"line": number}
    elif name not in {"insights", "key-points"}:
        raise ArticleFormatError(
            number, f"unknown block {name!r}; use insights, key-points or figure"
        )
    return name


def _add_block_line(section, block, stripped, number):
    if not stripped:
        return
    if block == "figure":
        key, _, value = stripped.partition(":")
        if key not in FIGURE_KEYS or not value.strip():
            raise ArticleFormatError(number, "figure lines are 'image: …', 'alt: …', 'caption: …'")
        section.figure[key] = value.strip()
        return
    if not stripped.startswith("- ") or " :: " not in stripped:
        what = "audience :: action" if block == "insights" else "label :: text"
        raise ArticleFormatError(number, f"expected a line '- {what}'")
    if block == "key-points":
        section.key_points.append(tuple(part.strip() for part in stripped[2:].split(" :: ", 1)))
        return
    audience, action, *group = (part.strip() for part in stripped[2:].split(" :: ", 2))
    section.insights.append((audience, action, group[0] if group else ""))


@transaction.atomic
def import_article(path, author=None):
    """Create or update the article in the file at path; return (article, created)."""
    path = Path(path)
    parsed = parse_article(path.read_text(encoding="utf-8"))
    meta = parsed.meta
    published_at = meta.get("published_at", timezone.now())
    if isinstance(published_at, datetime) and timezone.is_naive(published_at):
        published_at = timezone.make_aware(published_at)
    article, created = Article.objects.update_or_create(
        slug=meta.get("slug") or slugify(meta["title"]),
        defaults={
            "title": meta["title"],
            "kicker": meta.get("kicker", "Blog Post"),
            "headline": meta.get("headline", ""),
            "introduction": parsed.introduction,
            "status": meta.get("status", Article.Status.PUBLISHED),
            "published_at": published_at,
        },
    )
    if author and not article.author_id:
        article.author = author
        article.save(update_fields=["author"])
    article.tags.set(
        Tag.objects.get_or_create(slug=slugify(name), defaults={"name": name})[0]
        for name in meta.get("tags", [])
    )
    existing = list(article.sections.all())
    for position, parsed_section in enumerate(parsed.sections):
        section = existing[position] if position < len(existing) else Section(article=article)
        _store_section(section, parsed_section, position, path.parent)
    Section.objects.filter(pk__in=[s.pk for s in existing[len(parsed.sections) :]]).delete()
    article.refresh_word_count()
    article.refresh_search_index()
    return article, created


def _store_section(section, parsed, position, folder):
    section.position = position
    section.kind = parsed.kind
    section.heading = parsed.heading
    section.anchor = slugify(parsed.heading)[:80]
    section.body = "\n".join(parsed.body).strip()
    section.figure_placement = parsed.figure_placement
    section.figure_alt_text = parsed.figure.get("alt", "")
    section.figure_caption = parsed.figure.get("caption", "")
    section.figure_image = _stored_image(folder, parsed.figure) if parsed.figure else ""
    section.save()
    _sync_insights(section, parsed.insights)
    _sync_items(section.key_points, KeyPoint, parsed.key_points, ("label", "text"))


def _sync_insights(section, lines):
    existing = list(section.insights.all())
    for position, (audience, action, group_name) in enumerate(lines):
        insight = existing[position] if position < len(existing) else Insight(section=section)
        if group_name:
            insight.audience_group = Audience.objects.find_or_create(group_name)
        elif insight.audience != audience or insight.audience_group_id is None:
            # Same words keep the group they have: staff may have merged it into another.
            insight.audience_group = Audience.objects.find_or_create(audience)
        insight.position, insight.audience, insight.action = position, audience, action
        insight.save()
    Insight.objects.filter(pk__in=[i.pk for i in existing[len(lines) :]]).delete()


def _sync_items(related, model, pairs, names):
    existing = list(related.all())
    for position, values in enumerate(pairs):
        item = existing[position] if position < len(existing) else model(section=related.instance)
        item.position = position
        for name, value in zip(names, values, strict=True):
            setattr(item, name, value)
        item.save()
    model.objects.filter(pk__in=[i.pk for i in existing[len(pairs) :]]).delete()


def _stored_image(folder, figure):
    """Copy a figure's image into media storage once; the content hash names the copy."""
    source = folder / figure["image"]
    if not source.is_file():
        raise ArticleFormatError(figure["line"], f"image file not found: {figure['image']}")
    data = source.read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:12]
    name = f"figures/imported/{source.stem}-{digest}{source.suffix.lower()}"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(data))
    return name
