"""Accessibility checked by a real tool: axe-core in headless Chromium, and a keyboard-only reader.

axe checks each page against the WCAG 2.0 and 2.1 A and AA rules, colour contrast included, once
in the light and once in the dark colour scheme; a serious or critical violation fails the test,
and every run's count is printed under "browser checks" at the end of the pytest output.
"""

import itertools

import pytest
from django.urls import reverse

from comments.models import Comment
from tests.conftest import make_comment

pytestmark = pytest.mark.browser

SCHEMES = ["light", "dark"]
# The keyboard test presses Tab at most this often to reach the comment form from the top of
# the demo article, which has a few dozen links before it.
MAX_TABS = 400
SENT = itertools.count(1)


@pytest.fixture(autouse=True)
def _quick_posts_accepted(settings):
    # The spam defences refuse a comment posted sooner than a person could write one; the
    # browser here types in milliseconds.
    settings.COMMENTS_MIN_SECONDS = 0


def assert_accessible(new_context, axe, name, visit, sign_in=None):
    """Open a page with ``visit(page)`` in both colour schemes; fail on a blocking violation."""
    problems = []
    for scheme in SCHEMES:
        context = new_context(color_scheme=scheme)
        if sign_in:
            sign_in(context)
        page = context.new_page()
        visit(page)
        problems += axe(page, name)
    assert not problems, "\n".join(problems)


def goto(path):
    def visit(page):
        response = page.goto(path)
        assert response.ok, f"{path} answered {response.status}"

    return visit


def fill_comment_form(page, name):
    # Each text differs: the spam defences refuse the same text twice from one address.
    number = next(SENT)
    page.fill("#id_author_name", name)
    page.fill("#id_author_email", "reader@example.org")
    page.fill("#id_body", f"The alliance needs a plan for the next decade ({number}).")
    with page.expect_navigation():
        page.click("#comment-form button[type=submit]")


def test_index(new_context, axe, demo_article):
    assert_accessible(new_context, axe, "index", goto("/"))


def test_article_page_with_comments(new_context, axe, demo_article):
    first = make_comment(demo_article, author_url="https://example.org/reader")
    make_comment(demo_article, body="A reply, with *emphasis*.", parent=first, author_name="Ana")
    make_comment(demo_article, body="> A quote\n\nAnd a [link](https://example.org).")
    url = demo_article.get_absolute_url()
    assert_accessible(new_context, axe, "article", goto(url))


def test_article_page_with_form_error(new_context, axe, demo_article):
    """A name of spaces gets past the browser's own required check and is refused by Django."""

    def visit(page):
        page.goto(demo_article.get_absolute_url())
        fill_comment_form(page, name="   ")
        assert page.locator(".comment-form__errors").is_visible()
        assert page.locator(".comment-form__field--invalid #id_author_name").count() == 1

    assert_accessible(new_context, axe, "article-form-error", visit)


def test_article_page_with_pending_notice(new_context, axe, demo_article):
    def visit(page):
        page.goto(demo_article.get_absolute_url())
        fill_comment_form(page, name="Keiko")
        assert page.locator(".comment__notice").is_visible()

    assert_accessible(new_context, axe, "article-pending", visit)
    assert Comment.objects.pending().filter(author_name="Keiko").count() == len(SCHEMES)


def test_insights_page(new_context, axe, demo_article):
    assert_accessible(new_context, axe, "insights", goto(reverse("blog:insight-list")))


def test_search_results(new_context, axe, demo_article):
    def visit(page):
        goto(f"{reverse('blog:search')}?q=defense")(page)
        assert page.locator(".search__result").count() >= 1

    assert_accessible(new_context, axe, "search", visit)


def test_admin_moderation_queue(new_context, axe, log_in, demo_article):
    make_comment(demo_article, status=Comment.Status.PENDING, author_name="Held reader")
    make_comment(demo_article, status=Comment.Status.PENDING, body="Another one, with a link.")

    def visit(page):
        goto(reverse("admin:comments_comment_changelist"))(page)
        assert page.get_by_text("Held reader").count() == 1

    assert_accessible(new_context, axe, "admin-queue", visit, sign_in=log_in)


def test_axe_reports_a_page_broken_on_purpose(page, axe):
    """An image without alt text and faint text fail: the checks above pass for having looked."""
    page.goto("/")
    page.evaluate(
        """() => document.querySelector("main").insertAdjacentHTML("beforeend",
            '<img src="/static/img/favicon.svg" width="20" height="20">' +
            '<p style="color: #999; background: #fff">Faint words</p>')"""
    )
    found = axe(page, "control (broken on purpose)")
    assert any(": image-alt (critical)" in line for line in found), found
    assert any(": color-contrast (serious)" in line for line in found), found


def focused(page, selector):
    return page.evaluate("s => document.activeElement.matches(s)", selector)


def test_keyboard_reader_skips_to_content_and_posts_a_comment(page, demo_article):
    """From the top of the page, Tab and Enter alone reach the skip link, the form and Send."""
    page.goto(demo_article.get_absolute_url())

    page.keyboard.press("Tab")
    assert focused(page, "a.skip-link"), "the first Tab does not land on the skip link"
    assert page.locator("a.skip-link").is_visible()
    page.keyboard.press("Enter")
    assert focused(page, "main#main"), "the skip link does not move focus to the main content"
    page.keyboard.press("Tab")
    assert focused(page, "main *"), "after the skip link, Tab leaves the main content"

    typed = {
        "#id_author_name": "Keyboard Reader",
        "#id_author_email": "keys@example.org",
        "#id_body": "Written and sent with the keyboard alone.",
    }
    for _ in range(MAX_TABS):
        for selector, text in list(typed.items()):
            if focused(page, selector):
                page.keyboard.type(text)
                del typed[selector]
        if focused(page, "#comment-form button[type=submit]"):
            break
        page.keyboard.press("Tab")
    else:
        pytest.fail(f"{MAX_TABS} presses of Tab did not reach the comment form's button")
    assert not typed, f"Tab skipped these fields on its way to the button: {list(typed)}"

    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator(".comment__notice").is_visible()
    assert Comment.objects.pending().filter(author_name="Keyboard Reader").exists()
