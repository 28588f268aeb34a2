from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from blog.models import Article, Insight
from comments import models, spam
from comments.models import Comment
from tests.conftest import comment_form_data, make_article, make_comment

pytestmark = pytest.mark.django_db

VALID = {
    "author_name": "Aiko Tanaka",
    "author_email": "aiko@example.org",
    "author_url": "",
    "body": "Diplomacy deserves a line in the budget too.",
}


def post(client, to, **fields):
    url = reverse("comments:post", kwargs={"slug": to.slug})
    data = comment_form_data(to, **{**VALID, **fields})
    return client.post(url, data, HTTP_USER_AGENT="TestBrowser/1.0")


def html_of(client, article, **params):
    return client.get(article.get_absolute_url(), params).content.decode()


# Showing


def test_open_article_shows_the_form(client, article):
    html = html_of(client, article)
    assert '<section id="comments" class="comments" aria-labelledby="comments-heading">' in html
    assert (
        f'action="{reverse("comments:post", kwargs={"slug": article.slug})}#comment-form"' in html
    )
    assert 'name="csrfmiddlewaretoken"' in html
    for name in ["author_name", "author_email", "author_url", "body"]:
        assert f'name="{name}"' in html
    assert "No comments yet" in html


@pytest.mark.parametrize(
    ("approved", "heading"), [(0, "No comments yet"), (1, "1 comment"), (12, "12 comments")]
)
def test_count_counts_approved_comments_only(client, article, approved, heading):
    for _ in range(approved):
        make_comment(article)
    for status in ["pending", "rejected", "spam"]:
        make_comment(article, status=status)
    html = html_of(client, article)
    assert heading in html
    assert html.count('class="comment"') == approved


def test_comments_are_threaded_oldest_first_with_permalinks(client, article):
    now = timezone.now()
    first = make_comment(article, "First thread.", created_at=now - timedelta(hours=3))
    second = make_comment(article, "Second thread.", created_at=now - timedelta(hours=2))
    reply = make_comment(article, "A reply.", parent=first, created_at=now - timedelta(hours=1))
    html = html_of(client, article)
    assert html.index("First thread.") < html.index("A reply.") < html.index("Second thread.")
    assert f'<article id="comment-{reply.pk}" class="comment">' in html
    assert f'href="#comment-{second.pk}"' in html
    assert '<ol class="comments__replies">' in html


def test_author_is_linked_to_their_website_and_email_never_shown(client, article):
    make_comment(article, author_name="Ken", author_url="https://ken.example.org/")
    html = html_of(client, article)
    assert (
        '<a href="https://ken.example.org/" rel="nofollow ugc noopener"><bdi>Ken</bdi></a>' in html
    )
    assert "reader@example.org" not in html


def test_top_level_threads_are_paginated_with_their_replies(client, article, settings):
    settings.COMMENTS_PER_PAGE = 2
    first, second, third = (make_comment(article, f"Thread {n}.") for n in range(3))
    make_comment(article, "Reply on page two.", parent=third)
    page_one = html_of(client, article)
    assert "Thread 1." in page_one and "Thread 2." not in page_one
    assert f'href="{article.get_absolute_url()}?cpage=2#comments"' in page_one
    assert "4 comments" in page_one
    page_two = html_of(client, article, cpage=2)
    assert "Thread 2." in page_two and "Reply on page two." in page_two
    assert "Thread 0." not in page_two
    assert f'href="{article.get_absolute_url()}?cpage=1#comments"' in page_two


@pytest.mark.parametrize("comments", [0, 10, 500])
def test_article_page_query_count_does_not_grow_with_comments(
    client, article, settings, django_assert_num_queries, comments
):
    """Article, tags, sections, insights, key points, comment count, the thread's shape, the
    moderation summary's setting, and, when there are comments, the rows of the page's
    comments: never one per comment."""
    settings.COMMENTS_PER_PAGE = 1000
    made = [make_comment(article) for _ in range(comments // 4)]
    for number in range(comments - len(made)):
        parent = made[number // 2]
        made.append(make_comment(article, parent=parent if parent.depth < 2 else None))
    with django_assert_num_queries(9 if comments else 8):
        response = client.get(article.get_absolute_url())
    assert response.status_code == 200
    assert response.content.decode().count('class="comment"') == comments


def test_disabled_article_has_no_comment_area(client):
    article = make_article(discussion=Article.Discussion.DISABLED)
    make_comment(article, "Hidden when disabled.")
    html = html_of(client, article)
    assert 'id="comments"' not in html and "Hidden when disabled." not in html


def test_closed_article_keeps_approved_comments_and_drops_the_form(client):
    article = make_article(discussion=Article.Discussion.CLOSED)
    make_comment(article, "Still on show.")
    html = html_of(client, article)
    assert "Still on show." in html
    assert html.index("Still on show.") < html.index("Comments are closed.")
    assert 'id="comment-form"' not in html and ">Reply<" not in html


def test_auto_closed_article_shows_comments_are_closed(client, settings):
    settings.COMMENTS_CLOSE_AFTER_DAYS = 7
    article = make_article(published_at=timezone.now() - timedelta(days=8))
    assert "Comments are closed." in html_of(client, article)


def test_demo_article_shows_the_form_and_closing_it_keeps_approved_comments(client, demo_article):
    html = html_of(client, demo_article)
    assert 'id="comment-form"' in html
    assert html.index("Ready to Share Your Perspective?") < html.index('id="comment-form"')
    make_comment(demo_article, "Diplomacy first.", status=Comment.Status.PENDING)
    Comment.objects.filter(article=demo_article).approve(None)
    demo_article.discussion = Article.Discussion.CLOSED
    demo_article.save()
    html = html_of(Client(), demo_article)
    assert "1 comment" in html
    assert html.index("Diplomacy first.") < html.index("Comments are closed.")
    assert 'id="comment-form"' not in html


# Submitting


def test_a_new_comment_is_pending_and_the_reader_lands_on_it(client, article):
    response = post(client, article)
    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{article.get_absolute_url()}#comment-{comment.pk}"
    assert comment.status == Comment.Status.PENDING
    assert comment.moderation_reason == "Awaiting moderation"
    assert (comment.ip_address, comment.user_agent) == ("127.0.0.1", "TestBrowser/1.0")
    assert comment.body_html == "<p>Diplomacy deserves a line in the budget too.</p>"
    page = client.get(response["Location"]).content.decode()
    assert "Your comment is held for moderation" in page
    assert f'id="comment-{comment.pk}"' in page
    assert "Your comment is awaiting moderation." in page


def test_a_pending_comment_is_invisible_to_other_readers(client, article):
    post(client, article)
    html = html_of(Client(), article)
    assert VALID["body"] not in html
    assert "awaiting moderation" not in html
    assert "No comments yet" in html


def test_another_browser_with_its_own_session_does_not_see_my_pending_comment(client, article):
    post(client, article)
    neighbour = Client()
    post(neighbour, article, body="The neighbour's own words.")
    html = html_of(neighbour, article)
    assert "The neighbour's own words." in html
    assert VALID["body"] not in html


def test_a_first_post_takes_a_fixed_number_of_queries(client, article, django_assert_num_queries):
    """The article; the duplicate check before any rule runs; the rules; in one transaction,
    the article's lock, the duplicate check again, the comment and its audit row; the page to
    land on; the new session, inserted in a transaction of its own (config/sessions.py). A
    browser's first post has no earlier comments to look up."""
    with django_assert_num_queries(13):
        assert post(client, article).status_code == 302


def test_a_post_renders_its_text_once(client, article, monkeypatch):
    """The link count and the stored body_html share one rendering of the text."""
    rendered = []
    real = models.render_comment

    def render(text):
        rendered.append(text)
        return real(text)

    for module in (models, spam):
        monkeypatch.setattr(module, "render_comment", render)
    assert post(client, article).status_code == 302
    assert rendered == [VALID["body"]]
    assert Comment.objects.get().body_html == real(VALID["body"])


def test_redirect_lands_on_the_page_of_a_new_thread(client, article, settings):
    settings.COMMENTS_PER_PAGE = 2
    make_comment(article)
    make_comment(article)
    response = post(client, article)
    comment = Comment.objects.latest("pk")
    assert response["Location"] == f"{article.get_absolute_url()}?cpage=2#comment-{comment.pk}"
    assert (
        "Your comment is awaiting moderation." in client.get(response["Location"]).content.decode()
    )


def test_signed_in_reader_is_recorded_and_prefilled(client, django_user_model, article):
    user = django_user_model.objects.create_user("aiko", "aiko@example.org", "pw")
    client.force_login(user)
    assert 'value="aiko@example.org"' in html_of(client, article)
    post(client, article)
    assert Comment.objects.get().user == user


def test_invalid_form_is_shown_again_with_errors_and_everything_typed(client, article):
    response = post(client, article, author_email="not-an-email", author_url="javascript:alert(1)")
    assert response.status_code == 400
    html = response.content.decode()
    assert Comment.objects.count() == 0
    assert 'value="Aiko Tanaka"' in html
    assert VALID["body"] in html
    assert "Enter a valid email address, such as name@example.org." in html
    assert "Enter a web address starting with http:// or https://." in html
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_author_email_helptext id_author_email_error"' in html
    assert 'id="id_author_email_error"' in html
    assert 'id="id_author_name_error"' not in html


def test_required_fields_have_clear_messages(client, article):
    response = post(client, article, author_name="  ", author_email="", body="")
    html = response.content.decode()
    assert response.status_code == 400
    assert "Please enter your name." in html
    assert "Please enter your email address; it is never shown." in html
    assert "Please write your comment." in html


@pytest.mark.parametrize("url", ["ftp://files.example.org/", "javascript:alert(1)"])
def test_website_must_be_http_or_https(client, article, url):
    assert post(client, article, author_url=url).status_code == 400


def test_website_without_scheme_gets_https(client, article):
    post(client, article, author_url="example.org")
    assert Comment.objects.get().author_url == "https://example.org"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("author_name", "Aiko\x00"),
        ("author_name", "Aiko\x07"),
        ("author_email", "aiko@example.org\x1b"),
        ("body", "Text with a bell \x07 in it."),
        ("body", "Text with a NUL \x00 in it."),
    ],
)
def test_control_characters_are_refused(client, article, field, value):
    response = post(client, article, **{field: value})
    assert response.status_code == 400
    assert "Null characters are not allowed." in response.content.decode()
    assert Comment.objects.count() == 0


def test_body_keeps_line_breaks_and_tabs(client, article):
    post(client, article, body="First paragraph.\r\n\r\nSecond\tparagraph.")
    assert Comment.objects.get().body_html.count("<p>") == 2


def test_name_loses_bidi_overrides_and_text_is_normalised(client, article):
    post(client, article, author_name="Eve\u202egnp.exe\u200b", body="Cafe\u0301 talk.")
    comment = Comment.objects.get()
    assert comment.author_name == "Evegnp.exe"
    assert comment.body == "Caf\u00e9 talk."


def test_overlong_fields_are_refused(client, article):
    response = post(client, article, author_name="x" * 81, body="y" * 5001)
    assert response.status_code == 400
    assert Comment.objects.count() == 0


def test_extra_post_fields_are_ignored(client, article, staff_user):
    other = make_article("Other")
    post(
        client,
        article,
        status="approved",
        article=other.pk,
        user=staff_user.pk,
        depth=7,
        moderation_reason="trusted",
        ip_address="10.0.0.1",
    )
    comment = Comment.objects.get()
    assert (comment.article, comment.status, comment.user) == (article, "pending", None)
    assert (comment.depth, comment.moderation_reason) == (0, "Awaiting moderation")
    assert comment.ip_address == "127.0.0.1"


def test_post_needs_a_csrf_token(article):
    client = Client(enforce_csrf_checks=True)
    assert post(client, article).status_code == 403
    assert Comment.objects.count() == 0


def test_only_post_is_accepted(client, article):
    url = reverse("comments:post", kwargs={"slug": article.slug})
    assert client.get(url).status_code == 405


@pytest.mark.parametrize(
    "fields",
    [{"status": Article.Status.DRAFT}, {"published_at": timezone.now() + timedelta(days=1)}],
    ids=["draft", "scheduled"],
)
def test_unpublished_articles_take_no_comments(client, fields):
    assert post(client, make_article(**fields)).status_code == 404
    assert Comment.objects.count() == 0


# Closed threads


@pytest.mark.parametrize(
    ("fields", "title"),
    [
        ({"discussion": Article.Discussion.CLOSED}, "Comments are closed"),
        ({"discussion": Article.Discussion.DISABLED}, "Comments are turned off"),
        ({"comments_close_at": timezone.now() - timedelta(minutes=1)}, "Comments are closed"),
    ],
    ids=["closed", "disabled", "past-closing-time"],
)
def test_post_to_a_closed_thread_is_refused_and_stores_nothing(client, fields, title):
    article = make_article(**fields)
    make_comment(article)
    response = post(client, article)
    assert response.status_code == 403
    html = response.content.decode()
    assert f"<h1>{title}</h1>" in html and "was not saved" in html
    assert Comment.objects.count() == 1


def test_post_after_auto_close_is_refused(client, settings):
    settings.COMMENTS_CLOSE_AFTER_DAYS = 30
    article = make_article(published_at=timezone.now() - timedelta(days=31))
    assert post(client, article).status_code == 403
    assert Comment.objects.count() == 0
    settings.COMMENTS_CLOSE_AFTER_DAYS = 0
    assert post(client, article).status_code == 302


# Replies


def test_reply_link_prefills_the_parent_without_javascript(client, comment):
    html = html_of(client, comment.article)
    url = comment.article.get_absolute_url()
    assert f'href="{url}?replyto={comment.pk}#comment-form"' in html
    html = html_of(client, comment.article, replyto=comment.pk)
    assert f'<input type="hidden" name="parent" value="{comment.pk}"' in html
    assert "Reply to <bdi>Reader</bdi>" in html


def test_reply_link_to_a_pending_comment_prefills_nothing(client, article):
    pending = make_comment(article, status=Comment.Status.PENDING)
    html = html_of(client, article, replyto=pending.pk)
    assert f'value="{pending.pk}"' not in html


def test_a_reply_is_stored_under_its_parent(client, comment):
    response = post(client, comment.article, parent=comment.pk)
    reply = Comment.objects.latest("pk")
    assert response.status_code == 302
    assert (reply.parent, reply.depth) == (comment, 1)


@pytest.mark.parametrize("status", ["pending", "rejected", "spam"])
def test_reply_to_a_comment_that_is_not_approved_is_refused(client, article, status):
    parent = make_comment(article, status=status)
    response = post(client, article, parent=parent.pk)
    assert response.status_code == 400
    assert "You can only reply to a published comment on this article." in (
        response.content.decode()
    )
    assert Comment.objects.count() == 1


def test_reply_to_a_comment_on_another_article_is_refused(client, article):
    foreign = make_comment(make_article("Other"))
    assert post(client, article, parent=foreign.pk).status_code == 400
    assert Comment.objects.count() == 1


def test_replies_deeper_than_the_limit_are_refused(client, article, settings):
    settings.COMMENTS_MAX_DEPTH = 3
    top = make_comment(article)
    reply = make_comment(article, parent=top)
    deepest = make_comment(article, parent=reply)
    assert post(client, article, parent=reply.pk).status_code == 302
    response = post(client, article, parent=deepest.pk)
    assert response.status_code == 400
    assert "nested as deep as it can go" in response.content.decode()
    assert Comment.objects.filter(depth=3).count() == 0
    html = html_of(Client(), article)
    assert f"replyto={reply.pk}" in html and f"replyto={deepest.pk}" not in html


def test_a_comment_may_answer_an_insight_of_its_own_article_only(client, article):
    insight = Insight.objects.get(section__article=article)
    assert post(client, article, insight=insight.pk).status_code == 302
    assert Comment.objects.get().insight == insight
    foreign = Insight.objects.get(section__article=make_article("Other"))
    assert post(client, article, insight=foreign.pk).status_code == 400


# The page cache


def test_approval_shows_on_the_next_anonymous_request(client, article, staff_user):
    make_comment(article, "Freshly approved.", status=Comment.Status.PENDING)
    assert "Freshly approved." not in html_of(client, article)
    Comment.objects.pending().approve(staff_user)
    assert "Freshly approved." in html_of(Client(), article)


def test_past_the_page_cache_a_decision_shows_on_the_next_request(client, article, settings):
    """The thread's cached shape follows every moderation decision at once."""
    from django.test import Client

    settings.ARTICLE_PAGE_CACHE_SECONDS = 0
    held = make_comment(article, "Waiting for a moderator.", status=Comment.Status.PENDING)
    assert "Waiting for a moderator." not in client.get(article.get_absolute_url()).content.decode()
    Comment.objects.filter(pk=held.pk).approve(None)
    assert "Waiting for a moderator." in Client().get(article.get_absolute_url()).content.decode()
    Comment.objects.filter(pk=held.pk).reject(None)
    assert (
        "Waiting for a moderator." not in Client().get(article.get_absolute_url()).content.decode()
    )
