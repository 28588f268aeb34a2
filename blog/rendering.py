"""Markdown to safe HTML: the one place in the project where text becomes markup.

Every stored ``*_html`` field, the markdownx live preview and the tests go through
``render_markdown``, so what an editor previews is exactly what readers get, and the
sanitiser's allowlists live in a single module.
"""

import re

import bleach
import markdown
from bleach.css_sanitizer import CSSSanitizer

ARTICLE_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "dl",
        "dt", "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
        "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "span", "strong",
        "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
ARTICLE_ATTRIBUTES = {
    "a": ["href", "title"],
    "abbr": ["title"],
    "img": ["src", "alt", "title", "width", "height"],
    "h2": ["id"],
    "h3": ["id"],
    "h4": ["id"],
    "h5": ["id"],
    "h6": ["id"],
    "th": ["align", "scope"],
    "td": ["align"],
    "ol": ["start"],
}
ARTICLE_PROTOCOLS = frozenset({"http", "https", "mailto"})

COMMENT_TAGS = frozenset(
    {"a", "blockquote", "br", "code", "em", "li", "ol", "p", "pre", "strong", "ul"}
)
COMMENT_ATTRIBUTES = {"a": ["href", "rel"]}
COMMENT_PROTOCOLS = frozenset({"http", "https", "mailto"})
COMMENT_LINK_REL = "nofollow ugc noopener noreferrer"

_article_cleaner = bleach.Cleaner(
    tags=ARTICLE_TAGS,
    attributes=ARTICLE_ATTRIBUTES,
    protocols=ARTICLE_PROTOCOLS,
    strip=True,
    strip_comments=True,
    css_sanitizer=CSSSanitizer(allowed_css_properties=[]),
)


def _set_comment_rel(attrs, new=False):
    attrs[(None, "rel")] = COMMENT_LINK_REL
    return attrs


_comment_cleaner = bleach.Cleaner(
    tags=COMMENT_TAGS,
    attributes=COMMENT_ATTRIBUTES,
    protocols=COMMENT_PROTOCOLS,
    strip=True,
    strip_comments=True,
)

_ARTICLE_EXTENSIONS = ["extra", "sane_lists", "smarty", "toc"]
_ARTICLE_EXTENSION_CONFIGS = {
    # Sub-headings get ids so a reader can link to them; the article's own h1/h2 levels
    # are taken by the page, so markdown's "#" starts at h2 and "###" stays h3.
    "toc": {"permalink": False, "baselevel": 1},
    "smarty": {"smart_quotes": False},
}
_COMMENT_EXTENSIONS = ["sane_lists"]

# Input that cannot come from a person writing prose but makes a markdown parser
# recurse or backtrack: refuse to parse it and show it as escaped text instead.
MAX_NESTING = 50
_DEEP_NESTING = re.compile(rf"^(?:[ \t]*(?:[-*+>]|\d+[.)])[ \t]+){{{MAX_NESTING},}}", re.M)


def _markdown_to_html(text, extensions, configs=None):
    if _DEEP_NESTING.search(text) or text.count("[") > 2000:
        return "<p>" + bleach.clean(text, tags=set(), strip=True) + "</p>"
    try:
        return markdown.markdown(text, extensions=extensions, extension_configs=configs or {})
    except RecursionError:
        return "<p>" + bleach.clean(text, tags=set(), strip=True) + "</p>"


def render_markdown(text):
    """Return the sanitised HTML of staff-written article markdown."""
    html = _markdown_to_html(text or "", _ARTICLE_EXTENSIONS, _ARTICLE_EXTENSION_CONFIGS)
    return _article_cleaner.clean(html)


def render_comment(text):
    """Return the sanitised HTML of a reader's comment: a small markdown subset, safe links."""
    html = _markdown_to_html(text or "", _COMMENT_EXTENSIONS)
    html = _comment_cleaner.clean(html)
    return bleach.linkify(html, callbacks=[_set_comment_rel], skip_tags={"pre", "code"})
