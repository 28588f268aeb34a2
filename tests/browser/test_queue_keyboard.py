"""The moderation queue driven from the keyboard in a real browser, and its pages checked by axe.

The shortcuts live in static/comments/admin/queue.js; approve, reject and spam must go out as
the changelist's own POST (CSRF token, admin action, history entry), never as a GET.
"""

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from comments.models import Comment, ModerationRules
from tests.conftest import make_comment

pytestmark = pytest.mark.browser

QUEUE = "admin:comments_comment_changelist"
CURRENT = "#result_list tbody tr.queue-current"


@pytest.fixture
def queue(article):
    """Three pending comments, shown oldest first: First, Second, Third."""
    now = timezone.now()
    return [
        make_comment(
            article,
            f"{name} comment in the queue.",
            status=Comment.Status.PENDING,
            author_name=name,
            created_at=now - timedelta(hours=hours),
        )
        for name, hours in [("First", 3), ("Second", 2), ("Third", 1)]
    ]


@pytest.fixture
def admin_page(logged_in_admin_page):
    """Return the signed-in page; ``page.posts`` collects the form POSTs it navigates with."""
    page = logged_in_admin_page
    page.posts = []

    def record(request):
        if request.is_navigation_request() and request.method == "POST":
            page.posts.append(request)

    page.on("request", record)
    return page


def open_queue(page):
    response = page.goto(reverse(QUEUE))
    assert response.ok


def current_text(page):
    return page.locator(CURRENT).inner_text()


def status(comment):
    return Comment.objects.get(pk=comment.pk).status


def test_j_and_k_move_a_highlight_that_is_visible_and_focused(admin_page, queue):
    page = admin_page
    open_queue(page)
    assert page.locator("#queue-shortcuts").is_visible()
    assert page.locator(CURRENT).count() == 0
    page.keyboard.press("j")
    assert "First comment" in current_text(page)
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert "Third comment" in current_text(page)
    page.keyboard.press("j")  # stays on the last row
    assert "Third comment" in current_text(page)
    page.keyboard.press("k")
    assert "Second comment" in current_text(page)
    assert page.locator(CURRENT).count() == 1
    assert page.evaluate("document.activeElement.matches('tr.queue-current')")
    outline = page.evaluate(
        "getComputedStyle(document.querySelector('tr.queue-current')).outlineStyle"
    )
    assert outline == "solid"


@pytest.mark.parametrize(
    ("key", "expected", "message"),
    [
        ("a", Comment.Status.APPROVED, "Approved."),
        ("r", Comment.Status.REJECTED, "Rejected."),
        ("s", Comment.Status.SPAM, "Marked as spam."),
    ],
)
def test_a_r_and_s_decide_the_highlighted_comment_with_a_post(
    admin_page, queue, staff_user, key, expected, message
):
    page = admin_page
    open_queue(page)
    page.keyboard.press("j")
    page.keyboard.press("j")
    with page.expect_navigation():
        page.keyboard.press(key)
    page.wait_for_load_state()
    assert [status(c) for c in queue] == ["pending", expected, "pending"]
    entry = LogEntry.objects.get(object_id=str(queue[1].pk))
    assert (entry.user, entry.change_message) == (staff_user, message)
    [post] = page.posts
    assert post.url.endswith(reverse(QUEUE))
    assert "csrfmiddlewaretoken=" in post.post_data
    assert f"_selected_action={queue[1].pk}" in post.post_data
    # Back on the queue at the same place, which now holds the next comment.
    assert "1 comment" in page.locator(".messagelist").inner_text()
    assert "Third comment" in current_text(page)


def test_x_selects_and_the_decision_covers_the_selection(admin_page, queue):
    page = admin_page
    open_queue(page)
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("x")
    assert page.locator(".action-counter").inner_text().startswith("2 of 3")
    page.keyboard.press("x")
    page.keyboard.press("x")
    with page.expect_navigation():
        page.keyboard.press("a")
    assert [status(c) for c in queue] == ["approved", "pending", "approved"]


def test_o_opens_the_article_in_a_new_tab(admin_page, queue, article):
    page = admin_page
    open_queue(page)
    page.keyboard.press("j")
    with page.context.expect_page() as opened:
        page.keyboard.press("o")
    tab = opened.value
    tab.wait_for_load_state()
    assert tab.url.endswith(article.get_absolute_url())
    assert page.url.endswith(reverse(QUEUE))


def test_enter_opens_the_highlighted_comment(admin_page, queue):
    page = admin_page
    open_queue(page)
    page.keyboard.press("j")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(reverse("admin:comments_comment_change", args=[queue[0].pk]))


def test_shortcuts_do_nothing_while_typing(admin_page, queue):
    page = admin_page
    open_queue(page)
    page.click("#searchbar")
    page.keyboard.type("jars ok")
    assert page.input_value("#searchbar") == "jars ok"
    assert page.locator(CURRENT).count() == 0
    assert page.posts == []
    assert [status(c) for c in queue] == ["pending"] * 3


def test_question_mark_hides_and_shows_the_legend(admin_page, queue):
    page = admin_page
    open_queue(page)
    legend = page.locator("#queue-shortcuts dl")
    assert legend.is_visible()
    page.keyboard.press("?")
    assert legend.is_hidden()
    open_queue(page)  # remembered
    assert legend.is_hidden()
    page.keyboard.press("?")
    assert legend.is_visible()


# The pages the queue links to, through axe in both colour schemes.


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_moderation_pages_pass_axe(new_context, log_in, axe, queue, article, scheme):
    for _ in range(3):
        make_comment(article, "Cheap watches at my site!!!", status=Comment.Status.PENDING)
    make_comment(
        article,
        "Decided.",
        created_at=timezone.now() - timedelta(hours=5),
        moderated_at=timezone.now() - timedelta(hours=1),
        moderation_reason="Held: 3 links (more than 2)",
    )
    rules = ModerationRules.load()
    page = log_in(new_context(color_scheme=scheme)).new_page()
    problems = []
    for name, url in [
        ("admin-dashboard", reverse("admin:comments_dashboard")),
        ("admin-similar", reverse("admin:comments_comment_similar")),
    ]:
        assert page.goto(url).ok
        problems += axe(page, name)
    assert page.goto(reverse("admin:comments_moderationrules_change", args=[rules.pk])).ok
    page.fill("#id_max_links", "0")
    with page.expect_navigation():
        page.click("input[name=_dry_run]")
    assert page.locator("#dry-run").is_visible()
    problems += axe(page, "admin-rules-dry-run")
    open_queue(page)
    page.keyboard.press("j")
    problems += axe(page, "admin-queue-highlighted")
    assert not problems, "\n".join(problems)
