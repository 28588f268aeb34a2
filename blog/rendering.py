"""Markdown to safe HTML: the one place in the project where text becomes markup.

Every stored ``*_html`` field, the markdownx live preview and the tests go through
``render_markdown`` (staff articles) or ``render_comment`` (readers), so what an editor
previews is exactly what readers get, and the sanitiser's allowlists live in this module.

Rendering has three steps. First, text that would be too costly to parse is refused.
Then Python-Markdown converts the text. Last, the sanitiser (``sanitize_article_html``,
``sanitize_comment_html``) reduces the HTML to the policy's allowlist. Because it runs
last, its guarantees hold whatever markdown produced. Only allowlisted tags and
attributes survive. An ``href`` or ``src`` survives only if its scheme is http, https or
mailto, or it has no scheme; the scheme is read as a browser reads it, after entity
decoding and the removal of control characters and whitespace. For comments, the same
pass turns bare web addresses into links (http and https only) and gives every link
``rel="nofollow ugc noopener noreferrer"``. The sanitiser is idempotent. The whole
pipeline is not, and cannot be, because markdown wraps bare text from HTML in new
paragraphs. The tests check both facts.

Limits. bleach has announced no further releases, so our tests stand behind it
(tests/blog/test_rendering.py and test_corpora.py, which runs both hostile-string
corpora). Text over a limit is not parsed. It is shown as escaped plain text, one
paragraph per block, and a warning is logged. The limits were measured on a slow
two-core machine. About 200 shapes of pathological markdown were tried, each at the
largest size the limits let through; the slowest renders in about half a second of CPU.

* Length: ``ARTICLE.max_chars`` (50,000 per field; the demo article's longest section
  has about 3,000) and ``COMMENT.max_chars`` (10,000; the form allows 5,000).
* Markup: ``max_markup`` counts newlines and the characters that can start an element
  (``* _ ` [ ] < > & \\ |``): 6,000 for articles and 2,500 for comments. Python-Markdown
  and html5lib both find a node's place among its siblings by a linear search. The cost
  therefore grows with the square of the number of elements, up to about 10 ns per
  squared markup character in the worst case found. The demo article has one markup
  character in 120; the project README, mostly tables and code, one in 18.
* Block nesting: a line may open at most ``MAX_BLOCK_DEPTH`` (20) containers. Each quote
  marker, each list marker and every four columns of indentation count as one.
  Python-Markdown recurses for each level and hits RecursionError near 250 nested lists.
* HTML nesting: html5lib's stack of open elements may hold at most ``MAX_TAG_DEPTH``
  (100) elements. html5lib checks scope by walking that stack, so its time grows with
  the square of the depth (30,000 nested ``<ul>`` take minutes). The limit is enforced
  inside the parser, so the depth it counts is exact.
* Rescanning inside a block (the text between blank lines):
  * Every inline match rebuilds the block's string. ``MAX_BLOCK_WORK`` caps the sum of
    the squared block lengths.
  * Heading, rule and list processors split a block once per line. ``MAX_LINE_WORK``
    caps the sum, over blocks, of lines times length.
  * The link parser scans ahead from every ``[``, at about 100 ns a character.
    ``MAX_LINK_WORK`` caps the sum, over blocks, of ``[`` times length; ``"[" * 3000``
    comes to 9,000,000.
  * Fenced code is searched for over the whole text, so ``MAX_CODE_FENCES`` caps the
    number of fence lines.

The article extensions are "extra" without ``abbr`` and ``md_in_html``. With ``abbr``,
every use of an abbreviation becomes an element, so one definition multiplies the
elements. With ``md_in_html``, blank lines inside an element no longer end a block.
Our articles use neither.

NUL and the other C0 controls (except tab and newline), DEL and lone surrogates are
removed first. They have no meaning in text, html5lib reports them as errors, and
PostgreSQL cannot store NUL.
"""

import html
import logging
import re
from dataclasses import dataclass, field
from functools import partial

import bleach
import markdown
from bleach import html5lib_shim
from bleach._vendor.html5lib.treebuilders import getTreeBuilder
from bleach.linkifier import TLDS, LinkifyFilter

logger = logging.getLogger(__name__)

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
# rel is not allowlisted: the sanitiser itself sets it on every link.
COMMENT_ATTRIBUTES = {"a": ["href"]}
COMMENT_PROTOCOLS = frozenset({"http", "https", "mailto"})
COMMENT_LINK_REL = "nofollow ugc noopener noreferrer"

MAX_BLOCK_DEPTH = 20
MAX_TAG_DEPTH = 100
MAX_BLOCK_WORK = 500_000_000
MAX_LINE_WORK = 15_000_000
MAX_LINK_WORK = 3_000_000
MAX_CODE_FENCES = 200


@dataclass(frozen=True)
class Policy:
    """What one kind of author may write, and how much of it."""

    name: str
    tags: frozenset
    attributes: dict
    protocols: frozenset
    max_chars: int
    max_markup: int
    extensions: tuple
    extension_configs: dict = field(default_factory=dict)
    link_rel: str = ""


ARTICLE = Policy(
    name="article",
    tags=ARTICLE_TAGS,
    attributes=ARTICLE_ATTRIBUTES,
    protocols=ARTICLE_PROTOCOLS,
    max_chars=50_000,
    max_markup=6_000,
    extensions=(
        "attr_list",
        "def_list",
        "fenced_code",
        "footnotes",
        "tables",
        "sane_lists",
        "smarty",
        "toc",
    ),
    extension_configs={
        # Sub-headings get ids so a reader can link to them; the article's own h1/h2
        # levels are taken by the page, so markdown's "#" starts at h2 and "###" stays h3.
        "toc": {"permalink": False, "baselevel": 1},
        "smarty": {"smart_quotes": False},
    },
)
COMMENT = Policy(
    name="comment",
    tags=COMMENT_TAGS,
    attributes=COMMENT_ATTRIBUTES,
    protocols=COMMENT_PROTOCOLS,
    max_chars=10_000,
    max_markup=2_500,
    extensions=("sane_lists",),
    link_rel=COMMENT_LINK_REL,
)

_UNWANTED_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_MARKUP = re.compile(r"[\n*_`\[\]<>&\\|]")
# The run of container markers that opens a line: spaces, tabs, ">" and list markers.
_LINE_PREFIX = re.compile(r"(?m)^(?:[ \t>]|(?:[-*+]|\d{1,9}[.)])(?=[ \t]|$))+")
_LIST_MARKER = re.compile(r"[-*+]|\d{1,9}[.)]")
_CODE_FENCE = re.compile(r"(?m)^[ \t]*(?:```|~~~)")
# bleach's URL pattern (bleach.linkifier.build_url_re) with three changes. It matches web
# links only, where bleach's also takes ftp, irc, ssh and others. It drops bleach's leading
# "\(*", which backtracks in quadratic time on a run of "(" ("(" * 10000 took a second).
# And a match may not start right after a word character, hyphen, dot, colon or slash,
# where bleach's "\b" let every "a" of "a-a-a-..." start another scan to the end.
_LINK_URL = re.compile(
    r"(?<![\w@.:/-])(?:https?:/{0,3}(?:(?:\w+:)?\w+@)?)?(?:[\w-]+\.)+"
    rf"(?:{'|'.join(sorted(TLDS))})"
    r"(?::[0-9]+)?(?!\.\w)\b(?:[/?][^\s{}|\\^`<>\"]*)?",
    re.IGNORECASE,
)


class _TooDeep(Exception):
    """The HTML nests deeper than MAX_TAG_DEPTH."""


class _BoundedStack(list):
    def append(self, element):
        if len(self) >= MAX_TAG_DEPTH:
            raise _TooDeep
        super().append(element)

    def insert(self, index, element):
        if len(self) >= MAX_TAG_DEPTH:
            raise _TooDeep
        super().insert(index, element)


class _BoundedTreeBuilder(getTreeBuilder("etree")):
    """bleach's own tree builder, with a cap on html5lib's stack of open elements."""

    def reset(self):
        super().reset()
        self.openElements = _BoundedStack()


def _bounded_parser(tags):
    # The parser bleach.Cleaner builds for itself, on the bounded tree.
    return html5lib_shim.BleachHTMLParser(
        tags=tags,
        strip=True,
        consume_entities=False,
        namespaceHTMLElements=False,
        tree=_BoundedTreeBuilder,
    )


class _CommentLinkRel(html5lib_shim.Filter):
    """Give every link the comment rel, whatever the author wrote."""

    def __iter__(self):
        for token in super().__iter__():
            if token["type"] in {"StartTag", "EmptyTag"} and token["name"] == "a":
                token["data"] = {**token["data"], (None, "rel"): COMMENT_LINK_REL}
            yield token


def _cleaner(policy):
    # A Cleaner's parser keeps state between calls, so bleach warns that one must not be
    # shared between threads; building one takes about 30 µs, so each call gets its own.
    filters = []
    if policy.link_rel:
        # Linkify as a filter of the sanitiser, as bleach recommends, not as a second pass:
        # bleach.linkify() escapes the entities inside skip_tags again on every pass, so
        # `a < b` in a comment's code showed as "a &lt; b" (and grew on each pass).
        filters = [
            partial(LinkifyFilter, callbacks=[], skip_tags={"pre", "code"}, url_re=_LINK_URL),
            _CommentLinkRel,
        ]
    cleaner = bleach.Cleaner(
        tags=policy.tags,
        attributes=policy.attributes,
        protocols=policy.protocols,
        strip=True,
        strip_comments=True,
        filters=filters,
    )
    cleaner.parser = _bounded_parser(policy.tags)
    return cleaner


def _normalise(text):
    text = str(text or "").replace("\r\n", "\n").replace("\r", "\n")
    return _UNWANTED_CHARACTERS.sub("", text)


def _plain_text_html(text):
    """Return text as escaped paragraphs, which is how refused text is shown."""
    paragraphs = (paragraph.strip() for paragraph in _BLANK_LINE.split(text))
    return "\n".join(
        f"<p>{html.escape(paragraph, quote=False)}</p>" for paragraph in paragraphs if paragraph
    )


def _line_depth(prefix):
    columns = prefix.count(" ") + 4 * prefix.count("\t")
    return columns // 4 + prefix.count(">") + len(_LIST_MARKER.findall(prefix))


def refusal_reason(text, policy):
    """Return why text is too costly to render under policy, or "" if it is not."""
    if len(text) > policy.max_chars:
        return f"longer than {policy.max_chars} characters"
    if len(_MARKUP.findall(text)) > policy.max_markup:
        return f"more than {policy.max_markup} markup characters"
    if any(_line_depth(m.group()) > MAX_BLOCK_DEPTH for m in _LINE_PREFIX.finditer(text)):
        return f"blocks nested more than {MAX_BLOCK_DEPTH} deep"
    if len(_CODE_FENCE.findall(text)) > MAX_CODE_FENCES:
        return f"more than {MAX_CODE_FENCES} code fences"
    blocks = _BLANK_LINE.split(text)
    if sum(len(block) ** 2 for block in blocks) > MAX_BLOCK_WORK:
        return "blocks too long"
    if sum(block.count("\n") * len(block) for block in blocks) > MAX_LINE_WORK:
        return "blocks with too many lines"
    if sum(block.count("[") * len(block) for block in blocks) > MAX_LINK_WORK:
        return "too many [ in a block"
    return ""


def _sanitize(html_text, policy):
    html_text = _normalise(html_text)
    try:
        return _cleaner(policy).clean(html_text)
    except _TooDeep:
        logger.warning("Refused %s HTML nested over %d deep", policy.name, MAX_TAG_DEPTH)
        return _plain_text_html(html_text)


def sanitize_article_html(html_text):
    """Return html_text reduced to the article allowlist (the article sanitiser step)."""
    return _sanitize(html_text, ARTICLE)


def sanitize_comment_html(html_text):
    """Return html_text reduced to the comment allowlist, links marked (the comment step)."""
    return _sanitize(html_text, COMMENT)


def _render(text, policy):
    text = _normalise(text)
    reason = refusal_reason(text, policy)
    if not reason:
        try:
            html_text = markdown.markdown(
                text,
                extensions=list(policy.extensions),
                extension_configs=policy.extension_configs,
            )
            return _cleaner(policy).clean(html_text)
        except _TooDeep:
            reason = f"HTML nested over {MAX_TAG_DEPTH} deep"
        except RecursionError:
            # The limits above are meant to make this unreachable; say so loudly if not.
            logger.exception("Markdown recursed too deep on %s text", policy.name)
            reason = "recursion"
    logger.warning("Showing %s text as plain text: %s", policy.name, reason)
    return _plain_text_html(text)


def render_markdown(text):
    """Return the sanitised HTML of staff-written article markdown."""
    return _render(text, ARTICLE)


def render_comment(text):
    """Return the sanitised HTML of a reader's comment: a small markdown subset, safe links."""
    return _render(text, COMMENT)
