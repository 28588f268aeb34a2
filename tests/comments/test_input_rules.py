"""What a reader may send: lengths, characters, web addresses, and fields the POST cannot set.

Run on PostgreSQL too (README): it refuses text holding NUL with a DataError, so a NUL that
reached a query there would be a 500 here.
"""

import unicodedata
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from comments.models import Comment
from tests.conftest import comment_form_data, make_article, make_comment

pytestmark = pytest.mark.django_db

NULL_MESSAGE = "Null characters are not allowed."


def post(client, article, /, **fields):
    url = reverse("comments:post", kwargs={"slug": article.slug})
    return client.post(url, comment_form_data(article, **fields))


# Lengths


@pytest.mark.parametrize(
    ("field", "limit", "make", "message"),
    [
        ("author_name", 80, lambda n: "n" * n, "Please shorten your name to 80 characters"),
        (
            "author_email",
            254,
            lambda n: "e" * 64 + "@" + ("d" * 60 + ".") * 3 + "o" * (n - 64 - 1 - 183),
            "Please shorten the email address to 254 characters",
        ),
        (
            "author_url",
            200,
            lambda n: "https://example.org/" + "p" * (n - 20),
            "Please shorten the web address to 200 characters",
        ),
        ("body", 5000, lambda n: "b" * n, "Please shorten your comment to 5000 characters"),
    ],
)
def test_every_field_has_a_maximum_length_with_a_clear_message(
    client, article, field, limit, make, message
):
    response = post(client, article, **{field: make(limit + 1)})
    assert response.status_code == 400
    assert f"{message} (it has {limit + 1})." in response.content.decode()
    assert post(client, article, **{field: make(limit)}).status_code == 302
    assert len(getattr(Comment.objects.get(), field)) == limit


def test_lengths_are_counted_after_normalisation(client, article):
    """U+0958 becomes two characters in NFC: 80 of them would overflow varchar(80)."""
    assert len(unicodedata.normalize("NFC", "\u0958" * 80)) == 160
    response = post(client, article, author_name="\u0958" * 80)
    assert response.status_code == 400
    assert "Please shorten your name to 80 characters (it has 160)." in response.content.decode()
    assert Comment.objects.count() == 0


def test_every_text_field_is_stored_in_nfc(client, article):
    post(
        client,
        article,
        author_name="Rene\u0301e",
        author_email="rene@example.org",
        author_url="https://example.org/cafe\u0301",
        body="Cafe\u0301 diplomacy.",
    )
    comment = Comment.objects.get()
    assert comment.author_name == "Ren\u00e9e"
    assert comment.author_url == "https://example.org/caf\u00e9"
    assert comment.body == "Caf\u00e9 diplomacy."


# Control characters: refused in every field, never a 500 (on PostgreSQL above all)


@pytest.mark.parametrize("field", ["author_name", "author_email", "author_url", "body"])
@pytest.mark.parametrize("character", ["\x00", "\x01", "\x08", "\x1b", "\x7f"])
def test_control_characters_are_refused_in_every_field(client, article, field, character):
    value = {"author_email": f"a{character}@example.org", "author_url": "https://a.example/"}
    value = value.get(field, "Some text") + character + "more"
    response = post(client, article, **{field: value})
    assert response.status_code == 400
    assert NULL_MESSAGE in response.content.decode()
    assert Comment.objects.count() == 0


@pytest.mark.parametrize("field", ["parent", "insight", "timestamp"])
def test_nul_in_hidden_fields_is_a_form_error(client, article, field):
    response = post(client, article, **{field: "1\x00"})
    assert response.status_code == 400
    assert Comment.objects.count() == 0


def test_nul_in_the_honeypot_is_dropped_like_any_filled_honeypot(client, article):
    assert post(client, article, homepage="\x00").status_code == 302
    assert Comment.objects.count() == 0


# Layout spoofing: bidi overrides and zero-width characters


@pytest.mark.parametrize(
    "name",
    ["\u202e\u200b", "\u2066\u2069\ufeff", " \u200f "],
    ids=["override+zwsp", "isolates+bom", "rlm"],
)
def test_a_name_of_invisible_characters_only_is_no_name(client, article, name):
    response = post(client, article, author_name=name)
    assert response.status_code == 400
    assert "Please enter your name." in response.content.decode()


@pytest.mark.parametrize("character", ["\u202e", "\u200b", "\u2066", "\ufeff"])
def test_a_web_address_with_invisible_characters_is_refused(client, article, character):
    response = post(client, article, author_url=f"https://exam{character}ple.org/")
    assert response.status_code == 400
    assert "cannot contain invisible or direction-changing characters" in (
        response.content.decode()
    )


def test_names_are_isolated_and_texts_set_their_own_direction(client, article):
    """Whatever a comment holds, its direction cannot leak into the page around it."""
    make_comment(article, "\u202etxet desrever", author_name="\u05d0\u05d1\u05d2")
    html = client.get(article.get_absolute_url()).content.decode()
    assert "<bdi>\u05d0\u05d1\u05d2</bdi>" in html
    assert '<div class="comment__text" dir="auto"><p>\u202etxet desrever</p></div>' in html


# Web addresses


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "ftp://files.example.org/",
        "file:///etc/passwd",
        "http://",
        "https://exa mple.org/",
    ],
)
def test_a_website_must_be_http_or_https(client, article, url):
    response = post(client, article, author_url=url)
    assert response.status_code == 400
    assert "Enter a web address starting with http:// or https://." in response.content.decode()


# Fields the POST cannot set


def test_extra_post_fields_are_ignored_and_the_comment_is_pending_on_the_urls_article(
    client, article, staff_user
):
    other = make_article("Other")
    parent = make_comment(other)
    an_hour_ago = timezone.now() - timedelta(hours=1)
    response = post(
        client,
        article,
        status="approved",
        article=other.pk,
        article_id=other.pk,
        user=staff_user.pk,
        created_at=(timezone.now() - timedelta(days=400)).isoformat(),
        moderated_at=timezone.now().isoformat(),
        moderated_by=staff_user.pk,
        moderation_reason="trusted",
        body_html="<script>alert(1)</script>",
        depth=5,
        ip_address="10.0.0.1",
        user_agent="forged",
        id=999,
        pk=999,
        parent_id=parent.pk,
    )
    assert response.status_code == 302
    comment = Comment.objects.get(article=article)
    assert (comment.article, comment.status, comment.user) == (article, "pending", None)
    assert comment.created_at > an_hour_ago
    assert (comment.moderated_at, comment.moderated_by) == (None, None)
    assert comment.moderation_reason == "Awaiting moderation"
    assert comment.body_html == "<p>Diplomacy deserves a line in the budget too.</p>"
    assert (comment.depth, comment.parent, comment.ip_address) == (0, None, "127.0.0.1")
    assert comment.user_agent != "forged" and comment.pk != 999


# NUL anywhere else in a request: 400 before any query, never a psycopg DataError 500


@pytest.fixture
def reader(client):
    client.raise_request_exception = False
    return client


@pytest.fixture
def staff(admin_client):
    admin_client.raise_request_exception = False
    return admin_client


def assert_refused(response):
    assert response.status_code == 400, response.status_code
    assert NULL_MESSAGE in response.content.decode()


@pytest.mark.parametrize(
    "query", ["replyto=%00", "cpage=%00", "cpage=1%00", "utm%00=x", "q=budget%00"]
)
def test_nul_in_the_article_pages_query_string(reader, article, query, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert_refused(reader.get(f"{article.get_absolute_url()}?{query}"))


@pytest.mark.parametrize(
    "url",
    [
        "/articles/%00/",
        "/articles/an-article%00/",
        "/tags/%00/",
        "/insights/%00/",
        "/search/?q=%00",
        "/?page=%00",
        "/admin/%00/",
    ],
)
def test_nul_in_public_urls(reader, article, url):
    assert_refused(reader.get(url))


@pytest.mark.parametrize(
    "query",
    [
        "q=%00",
        "q=budget%00tail",
        "status=%00",
        "author_name=%00",
        "author_email__exact=a%00",
        "created_at__year=%00",
    ],
)
def test_nul_in_the_admin_changelist_search_and_filters(staff, article, query):
    """Unguarded, status=%00 and author_name=%00 were DataError 500s on PostgreSQL."""
    make_comment(article, status=Comment.Status.PENDING)
    assert_refused(staff.get(f"{reverse('admin:comments_comment_changelist')}?{query}"))
    assert_refused(staff.get(f"{reverse('admin:blog_article_changelist')}?{query}"))


def test_nul_in_an_admin_object_id(staff, comment):
    url = reverse("admin:comments_comment_change", args=["1\x00"])
    assert_refused(staff.get(url))


@pytest.mark.parametrize(
    "cookie", ['sessionid="abcdefgh\\000ijklmnop"', "sessionid=abcdefgh\x00ijklmnop"]
)
def test_nul_in_the_session_cookie(reader, article, cookie):
    """Unguarded, the session lookup on PostgreSQL was a 500.

    The first is printable ASCII, as any HTTP server lets through: Django unquotes the octal
    escape in a quoted cookie value into a NUL.
    """
    assert_refused(reader.get(article.get_absolute_url(), HTTP_COOKIE=cookie))


def test_nul_in_the_browser_name_stored_with_a_comment(reader, article):
    url = reverse("comments:post", kwargs={"slug": article.slug})
    response = reader.post(url, comment_form_data(article), HTTP_USER_AGENT="Bot\x00/1.0")
    assert_refused(response)
    assert Comment.objects.count() == 0


def test_nul_in_a_failed_admin_login_recorded_by_axes(reader, staff_user):
    response = reader.post(
        reverse("admin:login"), {"username": "staff", "password": "wrong"}, HTTP_USER_AGENT="\x00"
    )
    assert_refused(response)


def test_a_percent_sign_that_is_not_nul_passes(reader, article):
    """%2500 is the text "%00", which any query can hold: no false alarm."""
    assert reader.get(f"{article.get_absolute_url()}?cpage=%2500").status_code == 200
    assert reader.get("/search/?q=%2500").status_code == 200
