"""Two app servers, one PostgreSQL, one Redis: what one server changes, the other shows.

Marked ``services``: the test needs PostgreSQL and Redis on 127.0.0.1. ``.ci/run`` requires it;
``python3 dev.py test`` leaves it out, and says so, on a machine without them.
"""

import http.cookiejar
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from bench.run import Server, free_port

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get("PERSPECTIVES_SERVICES_POSTGRES", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("PERSPECTIVES_SERVICES_REDIS", "redis://127.0.0.1:6379/11")
DATABASE = "perspectives_app_servers_test"
HELD_TEXT = "A perspective held for moderation on one server."


def manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=180,
    ).stdout


@pytest.fixture(scope="module")
def site_env(tmp_path_factory):
    import psycopg
    import redis

    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    redis.Redis.from_url(REDIS).flushdb()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "COMMENTS_"))},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "two-app-servers-test-secret-" + "k" * 30,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DJANGO_HSTS_SECONDS": "0",
        "DJANGO_STATIC_ROOT": str(tmp_path_factory.mktemp("static")),
        "DJANGO_LOG_LEVEL": "WARNING",
        "DATABASE_URL": f"{POSTGRES}/{DATABASE}",
        "CACHE_URL": REDIS,
        "ARTICLE_PAGE_CACHE_SECONDS": "600",
        "COMMENTS_MIN_SECONDS": "0",
        "COMMENTS_RATE_LIMIT": "2",
        "COMMENTS_MAIL_IN_BACKGROUND": "0",
    }
    manage(env, "migrate", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")
    manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        "from tests.conftest import make_article, make_comment; "
        "get_user_model().objects.create_superuser('chief', 'chief@example.org', 'pw-chief-1'); "
        "a = make_article('Shared article'); "
        f"make_comment(a, {HELD_TEXT!r}, status='pending')",
    )
    yield env
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


@pytest.fixture(scope="module")
def servers(site_env):
    ports = free_port(), free_port()
    with (
        Server(_gunicorn(ports[0]), ports[0], site_env),
        Server(_gunicorn(ports[1]), ports[1], site_env),
    ):
        yield [f"http://127.0.0.1:{port}" for port in ports]


def _gunicorn(port):
    return [
        sys.executable, "-m", "gunicorn", "config.wsgi",
        "--workers", "1", "--bind", f"127.0.0.1:{port}", "--access-logfile", "/dev/null",
    ]  # fmt: skip


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A cookie-keeping HTTP client that reports redirects instead of following them."""

    def __init__(self, jar=None):
        self.jar = jar or http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect
        )

    def request(self, url, data=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(url, data=body)
        if data is not None:
            request.add_header("Referer", url)
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def hidden_fields(html):
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def log_in(browser, base):
    _, html = browser.request(f"{base}/admin/login/")
    status, _ = browser.request(
        f"{base}/admin/login/?next=/admin/",
        {**hidden_fields(html), "username": "chief", "password": "pw-chief-1", "next": "/admin/"},
    )
    assert status == 302


def post_comment(base, number):
    reader = Browser()
    _, html = reader.request(f"{base}/articles/shared-article/")
    form = {
        **hidden_fields(html),
        "author_name": f"Reader {number}",
        "author_email": f"reader{number}@example.org",
        "body": f"Perspective number {number}, sent to {base}.",
    }
    return reader.request(f"{base}/articles/shared-article/comments/", form)[0]


def test_a_comment_approved_through_one_server_shows_through_the_other(servers):
    first, second = servers
    article = "/articles/shared-article/"
    # Both servers now hold the page in the shared cache, without the held comment; asked
    # twice, each worker also keeps its own copy for the fast path (blog/fast_path.py).
    for base in [*servers, *servers]:
        status, html = Browser().request(base + article)
        assert status == 200 and HELD_TEXT not in html
    staff = Browser()
    log_in(staff, first)
    _, queue = staff.request(f"{first}/admin/comments/comment/")
    comment_id = re.search(r'name="_selected_action" value="(\d+)"', queue).group(1)
    status, _ = staff.request(
        f"{first}/admin/comments/comment/",
        {
            **{k: v for k, v in hidden_fields(queue).items() if k == "csrfmiddlewaretoken"},
            "action": "approve",
            "_selected_action": comment_id,
            "index": "0",
        },
    )
    assert status == 302
    for _ in range(2):
        status, html = Browser().request(second + article)
        assert status == 200 and HELD_TEXT in html


def test_a_session_started_on_one_server_is_valid_on_the_other(servers):
    first, second = servers
    staff = Browser()
    log_in(staff, first)
    status, html = staff.request(f"{second}/admin/")
    assert status == 200 and "Site administration" in html
    assert Browser().request(f"{second}/admin/")[0] == 302


def test_the_rate_limit_counts_posts_to_both_servers(servers):
    first, second = servers
    assert post_comment(first, 1) == 302
    assert post_comment(second, 2) == 302
    assert post_comment(first, 3) == 429
    assert post_comment(second, 4) == 429
