import pytest
from django.contrib.auth import get_user_model
from django.db import OperationalError
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_pages_carry_security_headers(client, article):
    response = client.get(article.get_absolute_url())
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["X-Frame-Options"] == "DENY"


def login(client, password, address="203.0.113.9", **headers):
    return client.post(
        reverse("admin:login"),
        {"username": "admin", "password": password},
        REMOTE_ADDR=address,
        **headers,
    )


@pytest.fixture
def admin_user(db):
    return get_user_model().objects.create_user(
        "admin", password="correct-horse", is_staff=True, is_superuser=True
    )


def test_admin_login_locks_out_after_repeated_failures(client, admin_user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "wrong")
    response = login(client, "correct-horse")
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()


def test_spoofed_forwarded_for_neither_bypasses_nor_shifts_the_lockout(
    client, admin_user, settings
):
    """Varying X-Forwarded-For must not reset the count for the real address."""
    for number in range(settings.AXES_FAILURE_LIMIT):
        login(client, "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{number}")
    assert login(client, "correct-horse", HTTP_X_FORWARDED_FOR="192.0.2.1").status_code == 429
    # The victim's own address, which the attacker named in the header, is not locked.
    other = login(client, "correct-horse", address="192.0.2.1")
    assert other.status_code == 302


def test_login_next_never_leaves_our_host(client, admin_user):
    response = client.post(
        reverse("admin:login") + "?next=https://evil.example/",
        {"username": "admin", "password": "correct-horse", "next": "https://evil.example/"},
        REMOTE_ADDR="203.0.113.10",
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


def test_database_down_gives_a_friendly_503_that_returns_the_readers_text(client, monkeypatch):
    from blog import views

    def unavailable(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(views.ArticleListView, "get", unavailable)
    monkeypatch.setattr(views.ArticleListView, "post", unavailable, raising=False)
    response = client.get(reverse("blog:article-list"))
    assert response.status_code == 503
    assert "briefly unavailable" in response.content.decode()
    assert "Traceback" not in response.content.decode()
    posted = client.post(reverse("blog:article-list"), {"body": "My <b>careful</b> argument"})
    html = posted.content.decode()
    assert posted.status_code == 503
    assert "Your comment was not saved" in html
    assert "My &lt;b&gt;careful&lt;/b&gt; argument" in html


def test_healthz_reports_the_database(client, monkeypatch):
    assert client.get(reverse("healthz")).content == b"ok\n"
    from django.db.backends.utils import CursorWrapper

    def broken(self, sql, params=None):
        raise OperationalError("gone")

    monkeypatch.setattr(CursorWrapper, "execute", broken)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503


def test_robots_txt_points_at_the_sitemap(client):
    body = client.get("/robots.txt").content.decode()
    assert "Disallow: /admin/" in body
    assert "Sitemap: http://testserver/sitemap.xml" in body
