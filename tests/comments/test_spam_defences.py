"""The spam defences of the comment form, in the order a post meets them (comments/spam.py)."""

import logging
import re
import socket
import time

import pytest
from django.core import signing
from django.core.cache import caches
from django.urls import reverse
from redis.exceptions import ConnectionError as RedisConnectionError

from comments import spam
from comments.models import Comment
from tests.conftest import comment_form_data, make_article, make_comment

pytestmark = pytest.mark.django_db


def post(client, article, address="203.0.113.7", **fields):
    url = reverse("comments:post", kwargs={"slug": article.slug})
    return client.post(url, comment_form_data(article, **fields), REMOTE_ADDR=address)


def form_timestamp(html):
    return re.search(r'name="timestamp" value="([^"]+)"', html).group(1)


def closed_port():
    """Return a local port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def later(monkeypatch):
    """Move the clock forward by some seconds, for every reader of time.time()."""

    def move(seconds):
        now = time.time()
        monkeypatch.setattr(time, "time", lambda: now + seconds)

    return move


# Honeypot


def test_the_honeypot_is_hidden_from_people_and_their_browsers(client, article):
    html = client.get(article.get_absolute_url()).content.decode()
    assert '<div class="comment-form__honeypot" hidden aria-hidden="true">' in html
    assert '<label for="id_homepage">Leave this field empty</label>' in html
    field = re.search(r'<input type="text" name="homepage"[^>]*>', html).group(0)
    assert 'tabindex="-1"' in field and 'autocomplete="off"' in field
    # Only once, inside the hidden block: not among the fields a reader fills in.
    assert html.count('name="homepage"') == 1


def test_a_filled_honeypot_looks_accepted_but_stores_nothing(client, article, caplog):
    with caplog.at_level(logging.INFO, logger="comments.views"):
        response = post(client, article, homepage="https://spam.example/")
    assert response.status_code == 302
    assert response["Location"] == article.get_absolute_url()
    assert Comment.objects.count() == 0
    assert "honeypot filled" in caplog.text
    assert "held for moderation" in client.get(response["Location"]).content.decode()


# Signed timestamp


def test_the_served_form_carries_a_timestamp_for_its_article(client, article):
    token = form_timestamp(client.get(article.get_absolute_url()).content.decode())
    assert spam.timestamp_problem(token, article.pk, now=time.time() + 5) is None
    assert spam.timestamp_problem(token, article.pk + 1, now=time.time() + 5) == spam.TAMPERED


@pytest.mark.parametrize(
    ("age", "problem"),
    [
        (0, spam.TOO_FAST),
        (2.9, spam.TOO_FAST),
        (3.1, None),
        (2 * 24 * 3600 - 1, None),
        (2 * 24 * 3600 + 1, spam.EXPIRED),
        (-60, spam.TOO_FAST),  # from the future: another server's clock, or forged
    ],
)
def test_timestamp_limits(article, age, problem):
    now = time.time()
    token = spam.sign_timestamp(article.pk, at=now - age)
    assert spam.timestamp_problem(token, article.pk, now=now) == problem


@pytest.mark.parametrize(
    ("timestamp", "message"),
    [
        ("now", "That was quick — please take a moment"),
        ("three days ago", "This form has expired; please send your comment again."),
        ("tampered", "The form was changed in transit; please send your comment again."),
        ("another article", "The form was changed in transit"),
        ("missing", "The form was changed in transit"),
        ("null", "The form was changed in transit"),
    ],
)
def test_a_refused_timestamp_keeps_the_text_and_gives_a_fresh_one(
    client, article, timestamp, message
):
    now = time.time()
    token = {
        "now": spam.sign_timestamp(article.pk, at=now),
        "three days ago": spam.sign_timestamp(article.pk, at=now - 3 * 24 * 3600),
        "tampered": spam.sign_timestamp(article.pk, at=now - 10)[:-1] + "x",
        "another article": spam.sign_timestamp(article.pk + 1, at=now - 10),
        "missing": "",
        "null": "\x00",
    }[timestamp]
    response = post(client, article, timestamp=token, body="My carefully typed argument.")
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert "My carefully typed argument." in html and 'value="Aiko Tanaka"' in html
    assert Comment.objects.count() == 0
    assert spam.timestamp_problem(form_timestamp(html), article.pk, now=now + 5) is None


def test_a_forged_timestamp_signed_with_another_key_is_refused(article):
    token = signing.dumps([article.pk, int(time.time()) - 60], key="not-our-secret")
    assert spam.timestamp_problem(token, article.pk) == spam.TAMPERED


def test_sending_again_after_too_quick_succeeds(client, article, later):
    response = post(client, article, timestamp=spam.sign_timestamp(article.pk))
    assert response.status_code == 400
    later(5)
    again = post(client, article, timestamp=form_timestamp(response.content.decode()))
    assert again.status_code == 302
    assert Comment.objects.count() == 1


def test_forms_in_cached_pages_live_far_longer_than_the_page_cache(settings):
    """A cached page carries the timestamp of its rendering; it must not expire in the cache."""
    assert settings.COMMENTS_MAX_AGE_SECONDS >= 100 * settings.ARTICLE_PAGE_CACHE_SECONDS
    assert settings.COMMENTS_MIN_SECONDS == 3


# Rate limit


@pytest.fixture
def limit(settings):
    settings.COMMENTS_RATE_LIMIT = 3
    settings.COMMENTS_RATE_WINDOW_SECONDS = 600
    return settings.COMMENTS_RATE_LIMIT


def test_one_post_too_many_gets_429_with_the_text_and_stores_nothing(client, article, limit):
    for number in range(limit):
        assert post(client, article, body=f"Perspective {number}.").status_code == 302
    response = post(client, article, body="One <b>more</b> perspective.")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 600
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert "Please wait a little before commenting again" in html
    assert '<textarea id="posted-text" rows="8" readonly>One &lt;b&gt;more&lt;/b&gt;' in html
    assert Comment.objects.count() == limit


def test_the_limit_is_checked_before_any_other_work(
    client, article, limit, django_assert_max_num_queries
):
    """A flood of posts costs one query each: the article; no form, rules or duplicate check."""
    for number in range(limit):
        post(client, article, body=f"Perspective {number}.")
    with django_assert_max_num_queries(1):
        assert post(client, article).status_code == 429


def test_the_limit_is_per_address_and_ipv6_counts_per_64(client, article, limit):
    for number in range(limit):
        post(client, article, address=f"2001:db8:1:2::{number + 1}", body=f"Point {number}.")
    assert post(client, article, address="2001:db8:1:2:ffff::9").status_code == 429
    assert post(client, article, address="2001:db8:1:3::1", body="Other /64.").status_code == 302
    assert post(client, article, address="198.51.100.1", body="Other v4.").status_code == 302


def test_form_errors_do_not_count_against_the_limit(client, article, limit):
    for _ in range(limit + 2):
        assert post(client, article, author_email="not-an-email").status_code == 400
    assert post(client, article).status_code == 302


def test_dropped_honeypot_posts_count_against_the_limit(client, article, limit):
    for _ in range(limit):
        assert post(client, article, homepage="x").status_code == 302
    assert post(client, article).status_code == 429


def test_the_next_window_opens_the_limit_again(client, article, limit, later):
    for number in range(limit):
        post(client, article, body=f"Perspective {number}.")
    assert post(client, article).status_code == 429
    later(600)
    assert post(client, article).status_code == 302


def test_a_limit_of_zero_turns_it_off(client, article, settings):
    settings.COMMENTS_RATE_LIMIT = 0
    for number in range(8):
        assert post(client, article, body=f"Perspective {number}.").status_code == 302


def test_an_addresss_first_post_in_a_window_is_one_cache_write(limit, monkeypatch):
    """Most readers post once: the counter is created at 1, with no increment after it."""

    def no_increment(*args, **kwargs):
        pytest.fail("the first post of a window incremented its counter")

    monkeypatch.setattr(caches["default"], "incr", no_increment)
    spam.count_post("198.51.100.20")
    monkeypatch.undo()
    assert spam.rate_limit_wait("198.51.100.20") is None
    spam.count_post("198.51.100.20")
    spam.count_post("198.51.100.20")
    assert spam.rate_limit_wait("198.51.100.20") is not None


class UnreachableCache:
    """A cache whose every call fails as Redis does when it cannot be reached."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise RedisConnectionError(
                "Error 111 connecting to 127.0.0.1:6379. Connection refused."
            )

        return fail


def test_cache_down_lets_the_comment_through_and_logs_it(
    client, article, limit, monkeypatch, caplog
):
    """Decided policy: fail open. Every comment is held for a moderator anyway."""
    monkeypatch.setattr(spam, "caches", {"default": UnreachableCache()})
    with caplog.at_level(logging.WARNING, logger="comments.spam"):
        responses = [post(client, article, body=f"Point {n}.") for n in range(limit + 1)]
    assert [r.status_code for r in responses] == [302] * (limit + 1)
    assert Comment.objects.pending().count() == limit + 1
    assert "Comment rate limit not checked: the cache is unavailable" in caplog.text
    assert "Comment post not counted: the cache is unavailable" in caplog.text


# Duplicates


def test_the_same_comment_sent_twice_is_stored_once(client, article):
    assert post(client, article).status_code == 302
    again = post(
        client,
        article,
        author_email="AIKO@example.org",
        body="  Diplomacy deserves a line in the budget too.\n",
    )
    assert again.status_code == 400
    html = again.content.decode()
    assert "You have already sent this comment; it is awaiting moderation." in html
    assert "Diplomacy deserves a line in the budget too." in html
    assert Comment.objects.count() == 1


def test_duplicates_are_matched_after_normalisation(client, article):
    post(client, article, body="Caf\u00e9 diplomacy.")
    assert post(client, article, body="Cafe\u0301 diplomacy.").status_code == 400
    assert Comment.objects.count() == 1


def test_a_published_duplicate_says_so(client, article):
    make_comment(
        article, "Diplomacy deserves a line in the budget too.", author_email="aiko@example.org"
    )
    response = post(client, article)
    assert "You have already sent this comment; it is published." in response.content.decode()


@pytest.mark.parametrize(
    ("earlier", "status"),
    [
        ({"status": Comment.Status.SPAM}, 400),  # answered like pending: spam is not revealed
        ({"status": Comment.Status.REJECTED}, 302),  # a resend goes back to a moderator
        ({"author_email": "someone@example.org"}, 302),
        ({"body": "A different text."}, 302),
        ({"article_title": "Another article"}, 302),
    ],
)
def test_what_counts_as_a_duplicate(client, article, earlier, status):
    fields = {"author_email": "aiko@example.org", "status": Comment.Status.PENDING, **earlier}
    target = make_article(fields.pop("article_title")) if "article_title" in fields else article
    body = fields.pop("body", "Diplomacy deserves a line in the budget too.")
    make_comment(target, body, **fields)
    assert post(client, article).status_code == status


def test_a_duplicate_is_refused_by_the_form_before_any_rule_or_service_runs(
    client, article, settings
):
    settings.COMMENTS_SPAM_SERVICE = "tests.comments.test_spam_defences.service_says_ham"
    service_calls.clear()
    post(client, article)
    assert post(client, article).status_code == 400
    assert len(service_calls) == 1


def test_a_double_click_stores_one_row(client, article, monkeypatch):
    """Both posts pass the form's check; the check under the lock when saving stops the second."""
    monkeypatch.setattr("comments.forms.find_duplicate", lambda *args: None)
    first, second = post(client, article), post(client, article)
    assert (first.status_code, second.status_code) == (302, 400)
    assert "You have already sent this comment" in second.content.decode()
    assert Comment.objects.count() == 1


# The external spam service


service_calls = []


def service_says_spam(comment, request):
    service_calls.append((comment.author_email, comment.ip_address, request.path))
    return "spam"


def service_says_ham(comment, request):
    service_calls.append(comment.author_email)
    return "ham"


def service_is_down(comment, request):
    raise TimeoutError("the spam service did not answer in 3 s")


def service_talks_nonsense(comment, request):
    return "probably"


def test_the_spam_service_is_off_by_default(settings):
    assert settings.COMMENTS_SPAM_SERVICE is None
    assert "comments.spam.check_spam_service" in settings.COMMENTS_CHECKS


def test_the_spam_service_can_mark_spam(client, article, settings):
    settings.COMMENTS_SPAM_SERVICE = "tests.comments.test_spam_defences.service_says_spam"
    service_calls.clear()
    assert post(client, article).status_code == 302
    comment = Comment.objects.get()
    assert (comment.status, comment.moderation_reason) == (
        Comment.Status.SPAM,
        "Spam: flagged by the spam service",
    )
    url = reverse("comments:post", kwargs={"slug": article.slug})
    assert service_calls == [("aiko@example.org", "203.0.113.7", url)]


@pytest.mark.parametrize(
    ("service", "logged"),
    [
        ("service_says_ham", None),
        (
            "service_is_down",
            "Spam service tests.comments.test_spam_defences.service_is_down failed",
        ),
        ("service_talks_nonsense", "gave an unknown answer 'probably'"),
        (
            "no_such_function",
            "Spam service tests.comments.test_spam_defences.no_such_function failed",
        ),
    ],
)
def test_the_spam_service_fails_open_and_logs(client, article, settings, caplog, service, logged):
    settings.COMMENTS_SPAM_SERVICE = f"tests.comments.test_spam_defences.{service}"
    with caplog.at_level(logging.WARNING, logger="comments.spam"):
        assert post(client, article).status_code == 302
    comment = Comment.objects.get()
    assert (comment.status, comment.moderation_reason) == ("pending", "Awaiting moderation")
    if logged:
        assert logged in caplog.text
    else:
        assert caplog.text == ""


# Mail server down


def test_mail_server_down_keeps_the_comment_and_logs_the_failure(
    client, article, staff_user, settings, caplog, django_capture_on_commit_callbacks
):
    """A real SMTP connection to a port nothing listens on, not a stand-in for send_mail."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        response = post(client, article)
    assert response.status_code == 302
    assert Comment.objects.pending().count() == 1
    assert "Could not email the moderators about comment" in caplog.text
    assert "ConnectionRefusedError" in caplog.text
