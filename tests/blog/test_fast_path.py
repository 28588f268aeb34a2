"""The WSGI fast path: a repeat anonymous request for a cached article page skips Django."""

import logging
import re
from datetime import timedelta
from types import SimpleNamespace
from unittest import mock

import pytest
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.middleware.csrf import CSRF_ALLOWED_CHARS, _does_token_match
from django.test import Client, RequestFactory
from django.utils import timezone

from blog import fast_path
from blog.cache import bump_article, page_key
from blog.fast_path import ArticlePageFastPath
from comments.models import Comment
from tests.conftest import comment_form_data, make_comment

pytestmark = pytest.mark.django_db

TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


class CountingDjango:
    """Django's WSGI application, counting the requests that reach it."""

    def __init__(self):
        self.handler = WSGIHandler()
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.handler(environ, start_response)


@pytest.fixture
def django_app():
    # As Django's test client does: the test's transaction must survive each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield CountingDjango()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def app(django_app):
    return ArticlePageFastPath(django_app)


def get(app, path, method="GET", cookies=None, **headers):
    factory = RequestFactory()
    for name, value in (cookies or {}).items():
        factory.cookies[name] = value
    environ = factory.generic(method, path, headers=headers).environ
    # As a WSGI server passes it: the path's bytes as latin-1 (the request the factory built
    # has already replaced it with the decoded text).
    environ["PATH_INFO"] = path.split("?", 1)[0].encode().decode("iso-8859-1")
    sent = {}

    def start_response(status, response_headers, exc_info=None):
        sent.update(status=status, headers=response_headers)

    body = b"".join(app(environ, start_response))
    return SimpleNamespace(
        status=int(sent["status"].split()[0]),
        headers=sent["headers"],
        header=dict(sent["headers"]),
        body=body,
        cookies=[value for name, value in sent["headers"] if name == "Set-Cookie"],
    )


def token_of(answer):
    return TOKEN.search(answer.body).group(1).decode()


def without_token(answer):
    return TOKEN.sub(b"", re.sub(rb'name="timestamp" value="[^"]*"', b"", answer.body))


def cookie_value(set_cookie):
    return set_cookie.split(";")[0].split("=", 1)[1]


def cookie_attributes(set_cookie):
    """The cookie's attributes other than its value and its date, which change per response."""
    return sorted(
        part.strip() for part in set_cookie.split(";")[1:] if not part.strip().startswith("expires")
    )


def test_a_repeat_request_is_answered_without_django_and_matches_its_page(app, django_app, article):
    url = article.get_absolute_url()
    first = get(app, url)
    assert django_app.calls == 1 and first.status == 200
    second = get(app, url)
    assert django_app.calls == 1, "the repeat request reached Django"
    assert second.status == 200
    assert without_token(second) == without_token(first)
    assert second.header["Content-Length"] == str(len(second.body))
    same_headers = {"Content-Type", "ETag", "Last-Modified", "Cache-Control", "Vary"}
    same_headers |= {"X-Frame-Options", "X-Content-Type-Options", "Content-Security-Policy"}
    for name in same_headers:
        assert second.header[name] == first.header[name], name
    assert cookie_attributes(second.cookies[0]) == cookie_attributes(first.cookies[0])


def test_the_token_on_a_fast_page_matches_the_cookie_sent_with_it(app, article):
    get(app, article.get_absolute_url())
    answer = get(app, article.get_absolute_url())
    (set_cookie,) = answer.cookies
    secret, token = cookie_value(set_cookie), token_of(answer)
    assert len(secret) == 32 and set(secret) <= set(CSRF_ALLOWED_CHARS)
    assert len(token) == 64 and _does_token_match(token, secret)
    # Masked afresh each time, so the page never repeats the secret (BREACH).
    assert secret not in answer.body.decode()
    assert token_of(get(app, article.get_absolute_url(), cookies={"csrftoken": secret})) != token


def test_a_comment_posted_from_a_fast_page_passes_django_csrf_check(app, django_app, article):
    get(app, article.get_absolute_url())
    answer = get(app, article.get_absolute_url())
    assert django_app.calls == 1
    reader = Client(enforce_csrf_checks=True)
    reader.cookies["csrftoken"] = cookie_value(answer.cookies[0])
    data = comment_form_data(article, csrfmiddlewaretoken=token_of(answer))
    response = reader.post(f"{article.get_absolute_url()}comments/", data)
    assert response.status_code == 302
    assert Comment.objects.filter(article=article).count() == 1


def test_a_reader_keeps_their_own_csrf_cookie(app, article):
    get(app, article.get_absolute_url())
    secret = "A" * 16 + "b" * 16
    answer = get(app, article.get_absolute_url(), cookies={"csrftoken": secret})
    assert cookie_value(answer.cookies[0]) == secret
    assert _does_token_match(token_of(answer), secret)


def test_a_malformed_csrf_cookie_is_left_to_django(app, django_app, article):
    get(app, article.get_absolute_url())
    answer = get(app, article.get_absolute_url(), cookies={"csrftoken": "short<>"})
    assert django_app.calls == 2
    assert cookie_value(answer.cookies[0]) != "short<>"


def test_an_approved_comment_shows_on_the_next_request(app, django_app, article, moderator):
    url = article.get_absolute_url()
    get(app, url)
    get(app, url)
    comment = make_comment(article, body="Approved just now.", status=Comment.Status.PENDING)
    assert b"Approved just now." not in get(app, url).body
    Comment.objects.filter(pk=comment.pk).approve(moderator)
    calls = django_app.calls
    assert b"Approved just now." in get(app, url).body
    assert django_app.calls == calls + 1
    assert b"Approved just now." in get(app, url).body
    assert django_app.calls == calls + 1, "the refreshed page is kept and served again"


def test_a_bumped_version_sends_the_next_request_to_django(app, django_app, article):
    get(app, article.get_absolute_url())
    bump_article(article.slug)
    get(app, article.get_absolute_url())
    assert django_app.calls == 2


def test_an_expired_page_is_not_served(app, django_app, article, settings):
    get(app, article.get_absolute_url())
    later = timezone.now() + timedelta(seconds=settings.ARTICLE_PAGE_CACHE_SECONDS + 1)
    with mock.patch("blog.cache.timezone.now", return_value=later):
        get(app, article.get_absolute_url())
    assert django_app.calls == 2


@pytest.mark.parametrize(
    ("cookies", "headers"),
    [
        ({"sessionid": "abc"}, {}),
        ({"messages": "abc"}, {}),
        ({}, {"If-None-Match": '"anything"'}),
        ({}, {"If-Modified-Since": "Wed, 21 Oct 2015 07:28:00 GMT"}),
    ],
    ids=["session", "messages", "if-none-match", "if-modified-since"],
)
def test_readers_with_state_or_conditions_go_through_django(
    app, django_app, article, cookies, headers
):
    get(app, article.get_absolute_url())
    get(app, article.get_absolute_url(), cookies=cookies, **headers)
    assert django_app.calls == 2


def test_a_matching_etag_still_gets_not_modified(app, article):
    etag = get(app, article.get_absolute_url()).header["ETag"]
    assert get(app, article.get_absolute_url(), If_None_Match=etag).status == 304


@pytest.mark.parametrize("query", ["?utm_source=x", "?cpage=2&x=1", "?cpage=two"])
def test_other_queries_go_through_django(app, django_app, article, query):
    get(app, article.get_absolute_url() + query)
    get(app, article.get_absolute_url() + query)
    assert django_app.calls == 2


def test_each_comment_page_is_kept_apart(app, django_app, article, settings):
    settings.COMMENTS_PER_PAGE = 1
    for number in range(3):
        make_comment(article, body=f"Thread number {number}.")
    url = article.get_absolute_url()
    first, second = get(app, url), get(app, url + "?cpage=2")
    assert get(app, url).body.count(b"Thread number") == 1
    assert without_token(get(app, url + "?cpage=2")) == without_token(second)
    assert without_token(get(app, url)) == without_token(first)
    assert django_app.calls == 2


def test_other_pages_and_methods_go_through_django(app, django_app, article):
    get(app, "/")
    get(app, "/")
    get(app, article.get_absolute_url(), method="POST")
    get(app, article.get_absolute_url() + "comments/feed/")
    assert django_app.calls == 4


def test_head_sends_the_headers_without_the_page(app, article):
    full = get(app, article.get_absolute_url())
    head = get(app, article.get_absolute_url(), method="HEAD")
    assert head.body == b""
    # The form's signed timestamp is re-signed per response and its length varies a little.
    assert abs(int(head.header["Content-Length"]) - len(full.body)) < 8


def test_an_unknown_host_is_refused_by_django(app, django_app, article, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    get(app, article.get_absolute_url())
    answer = get(app, article.get_absolute_url(), Host="attacker.example")
    assert answer.status == 400 and django_app.calls == 2


def test_plain_http_is_redirected_when_https_is_required(django_app, article, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    app = ArticlePageFastPath(CountingDjango())  # the security middleware reads settings once
    get(app, article.get_absolute_url(), X_Forwarded_Proto="https")
    assert app.pages, "the HTTPS page was kept"
    answer = get(app, article.get_absolute_url())
    assert answer.status == 301 and answer.header["Location"].startswith("https://")


def test_pages_are_kept_apart_by_scheme(app, django_app, article, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    get(app, article.get_absolute_url())
    get(app, article.get_absolute_url(), X_Forwarded_Proto="https")
    assert django_app.calls == 2


def test_turning_the_page_cache_off_turns_the_fast_path_off(app, django_app, article, settings):
    settings.ARTICLE_PAGE_CACHE_SECONDS = 0
    get(app, article.get_absolute_url())
    get(app, article.get_absolute_url())
    assert django_app.calls == 2


def test_a_fault_in_the_fast_path_falls_back_to_django(app, django_app, article, caplog):
    get(app, article.get_absolute_url())
    broken = mock.patch.object(fast_path, "page_body", side_effect=RuntimeError("broken"))
    with broken, caplog.at_level(logging.ERROR, logger="blog.fast_path"):
        answer = get(app, article.get_absolute_url())
    assert answer.status == 200 and django_app.calls == 2
    assert "fast path failed" in caplog.text


def test_a_worker_keeps_a_bounded_number_of_pages(app, monkeypatch):
    from tests.conftest import make_article

    monkeypatch.setattr(fast_path, "PAGES_KEPT", 2)
    for number in range(4):
        get(app, make_article(title=f"Article {number}").get_absolute_url())
    assert len(app.pages) == 2


def test_random_csrf_strings_are_well_formed_and_differ():
    drawn = {fast_path._random_csrf_string() for _ in range(200)}
    assert len(drawn) == 200
    assert all(len(secret) == 32 and set(secret) <= set(CSRF_ALLOWED_CHARS) for secret in drawn)
    # Every character can come up: the draw is not confined to part of the alphabet.
    assert set("".join(drawn)) == set(CSRF_ALLOWED_CHARS)


@pytest.mark.parametrize(
    "backend",
    ["django.core.cache.backends.dummy.DummyCache", "unreachable"],
)
def test_without_a_working_cache_every_change_shows_at_once(
    app, django_app, article, moderator, settings, backend
):
    """A page rendered with no version to check it against is never kept: the next request
    after a moderation decision shows it, during an outage or with a dummy cache."""
    if backend == "unreachable":
        settings.CACHES = {
            "default": {
                "BACKEND": "config.cache.ForgivingRedisCache",
                "LOCATION": "redis://127.0.0.1:9/0",  # the discard port: nothing answers
                "OPTIONS": {"socket_connect_timeout": 0.2},
            }
        }
    else:
        settings.CACHES = {"default": {"BACKEND": backend}}
    url = article.get_absolute_url()
    get(app, url)
    get(app, url)
    comment = make_comment(article, body="Approved during the outage.", status="pending")
    Comment.objects.filter(pk=comment.pk).approve(moderator)
    assert b"Approved during the outage." in get(app, url).body
    assert django_app.calls == 3 and not app.pages


@pytest.mark.parametrize("path", ["/articles/caf\u00e9/", "/articles/\u65e5\u672c/"])
def test_paths_beyond_ascii_reach_django_as_they_were_sent(app, path):
    answer = get(app, path)
    assert answer.status == 404


def test_a_nul_in_a_cookie_is_refused_by_django(app, django_app, article):
    get(app, article.get_absolute_url())
    answer = get(app, article.get_absolute_url(), cookies={"theme": "dark\x00"})
    assert answer.status == 400 and django_app.calls == 2


def test_the_page_evicted_is_the_one_least_recently_served(app, monkeypatch):
    from tests.conftest import make_article

    monkeypatch.setattr(fast_path, "PAGES_KEPT", 2)
    first, second, third = (make_article(title=f"Article {n}") for n in range(3))
    for article in (first, second, first, first, third):
        get(app, article.get_absolute_url())
    kept = {key[0].split(":")[2] for key in app.pages}
    assert kept == {first.slug, third.slug}


def test_an_out_of_range_comment_page_is_shown_but_never_kept(app, django_app, article, settings):
    settings.COMMENTS_PER_PAGE = 1
    for number in range(3):
        make_comment(article, body=f"Thread number {number}.")
    url = article.get_absolute_url()
    get(app, url + "?cpage=3")
    for query in ("?cpage=999", "?cpage=03", "?cpage=999"):
        answer = get(app, url + query)
        assert answer.status == 200 and b"Thread number 2." in answer.body  # the last page
        assert cache.get(page_key(article.slug, query.split("=")[1])) is None
    assert django_app.calls == 4
    assert [key for key, _ in app.pages] == [page_key(article.slug, "3")]
