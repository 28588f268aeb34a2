"""Both sanitiser policies against published hostile-string corpora (tests/data/README.md).

Every string of the Big List of Naughty Strings (515) and every input of markdown-it's XSS
fixtures (13) goes through the article and the comment policy three ways: as raw HTML into
the sanitiser, as Python-Markdown's HTML into the sanitiser, and through the public render
function. Each output must keep the sanitiser's promises (assert_safe: allowlisted tags and
attributes only, no <script>, no on* attribute, no href/src whose scheme a browser would
read as javascript:, vbscript: or data:, our rel on every comment link), and sanitising it
again must change nothing. Neither corpus holds a NUL, over-long text or pathological
markdown, so ADDED supplies them.
"""

import json
from functools import cache

import markdown
import pytest

from blog.models import Section
from blog.rendering import ARTICLE, COMMENT, refusal_reason
from tests.blog.test_rendering import POLICIES, assert_safe
from tests.conftest import DATA, make_article


def markdown_it_inputs():
    """Return the inputs of markdown-it's fixture file: the first part of each ". ." block."""
    inputs, part, lines = [], None, []
    for line in (DATA / "markdown-it" / "xss.txt").read_text(encoding="utf-8").split("\n"):
        if line != ".":
            lines.append(line)
        elif part is None:
            part, lines = "input", []
        elif part == "input":
            inputs.append("\n".join(lines))
            part, lines = "expected", []
        else:
            part = None
    return inputs


BLNS = json.loads((DATA / "blns" / "blns.json").read_text(encoding="utf-8"))
MARKDOWN_IT = markdown_it_inputs()
# test_rendering.py times the big pathological inputs; these are the quick ones.
ADDED = [
    "\x00",
    "a\x00b",
    "<scr\x00ipt>alert(1)</script>",
    "[x](java\x00script:alert(1))",
    '<a href="java\x00script:alert(1)">x</a>',
    "<b>*a*</b> " + "x" * ARTICLE.max_chars,
    "<b>*a*</b> " + "x" * COMMENT.max_chars,
    "[" * 3000,
    "1. " * 500 + "x",
    "\n".join("    " * depth + "- x" for depth in range(500)),
    "<ul>" * 1000 + "<script>alert(1)</script>",
]
CORPUS = (
    [pytest.param(text, id=f"blns-{number}") for number, text in enumerate(BLNS)]
    + [pytest.param(text, id=f"markdown-it-{number}") for number, text in enumerate(MARKDOWN_IT)]
    + [pytest.param(text, id=f"added-{number}") for number, text in enumerate(ADDED)]
)


def test_the_corpora_are_complete():
    """The counts upstream publishes: a truncated copy would pass everything below."""
    assert len(BLNS) == 515
    assert len(MARKDOWN_IT) == 13
    assert any("javascript:" in text for text in MARKDOWN_IT)


@cache
def outputs(policy_name, text):
    """Return the three outputs for text under the policy (shared by the tests below)."""
    policy, render, sanitize = POLICIES[policy_name]
    results = {"raw": sanitize(text), "rendered": render(text)}
    # Unguarded Python-Markdown would recurse or take minutes on what the renderer refuses.
    if not refusal_reason(text, policy):
        converted = markdown.markdown(
            text, extensions=list(policy.extensions), extension_configs=policy.extension_configs
        )
        results["markdown"] = sanitize(converted)
    return results


@pytest.mark.parametrize("text", CORPUS)
def test_every_hostile_string_is_made_safe_and_sanitising_again_changes_nothing(text):
    for policy_name, (policy, _, sanitize) in POLICIES.items():
        for kind, html in outputs(policy_name, text).items():
            assert_safe(html, policy)
            assert sanitize(html) == html, (policy_name, kind)


@pytest.mark.django_db
def test_every_rendering_is_stored_and_read_back_unchanged():
    """On PostgreSQL too: a NUL or an invalid code point in the HTML would fail the insert."""
    article = make_article(sections=0)
    texts = BLNS + MARKDOWN_IT + ADDED
    sections = [
        Section(
            article=article,
            position=number,
            body_html=outputs("article", text)["rendered"] + outputs("comment", text)["rendered"],
        )
        for number, text in enumerate(texts)
    ]
    Section.objects.bulk_create(sections)
    stored = Section.objects.filter(article=article).order_by("position")
    assert [section.body_html for section in stored] == [section.body_html for section in sections]
