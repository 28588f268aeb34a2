"""Schema.org JSON-LD for the article page, written so that it is safe inside a <script>.

The blog knows nothing of comments, so ``article_json_ld`` takes the comment part as
arguments: a caller that can count approved comments (the comments app's template tag) passes
``comment_count`` and, optionally, ``comments`` as schema.org ``Comment`` dicts.
"""

import json

from django.conf import settings
from django.utils.safestring import mark_safe

# What Django's json_script escapes, so that no text can end the <script> element or open a
# comment in it; the line separators are escaped too for older JavaScript parsers.
_SCRIPT_ESCAPES = {
    ord("<"): "\\u003C",
    ord(">"): "\\u003E",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def first_figure(article):
    """Return the first section of the article that has a figure image, or None."""
    return next((section for section in article.sections.all() if section.figure_image), None)


def article_json_ld(article, *, url, image_url=None, comment_count=None, comments=None):
    """Return the schema.org Article data for article, whose page is at the absolute url."""
    author = article.author
    data = {
        "@context": "https://schema.org",
        "@type": "Article",
        "headline": article.title,
        "alternativeHeadline": article.headline or None,
        "description": article.excerpt,
        "datePublished": article.published_at.isoformat(),
        "dateModified": article.updated_at.isoformat(),
        "author": (
            {"@type": "Person", "name": author.get_full_name() or author.get_username()}
            if author
            else {"@type": "Organization", "name": settings.SITE_NAME}
        ),
        "publisher": {"@type": "Organization", "name": settings.SITE_NAME},
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "url": url,
        "image": image_url,
        "keywords": [tag.name for tag in article.tags.all()] or None,
        "wordCount": article.word_count or None,
        "commentCount": comment_count,
        "comment": comments or None,
    }
    return {key: value for key, value in data.items() if value is not None}


def json_ld_script_text(data):
    """Return data as JSON that can stand between <script type="application/ld+json"> tags."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # Safe: with <, > and & escaped, no value can close the element or start markup.
    return mark_safe(text.translate(_SCRIPT_ESCAPES))  # noqa: S308
