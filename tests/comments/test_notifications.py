"""Commenter notifications: double opt-in, one-click unsubscribe, mail after the commit."""

import logging
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from comments.links import confirmation_token, unsubscribe_token
from comments.models import Comment, ConfirmedAddress
from comments.notifications import deliver, send_publication_notices
from tests.conftest import comment_form_data, forge_token, make_comment

pytestmark = pytest.mark.django_db

PUBLISH_LABEL = "Email me when my comment is published"
REPLY_LABEL = "Email me when someone replies"


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.COMMENTS_RATE_LIMIT = 0


def post(client, article, capture, **fields):
    with capture(execute=True):
        response = client.post(
            reverse("comments:post", kwargs={"slug": article.slug}),
            comment_form_data(article, **fields),
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    return Comment.objects.latest("pk")


def confirm(email):
    """Open the confirmation link and press its button, as the address's owner would."""
    url = reverse("comments:confirm-address", args=[confirmation_token(email)])
    assert Client().post(url).status_code == 200


def link_in(text, name):
    """Return the path of the first link to the named route found in a mail's text."""
    prefix = reverse(name, args=["TOKEN"]).split("TOKEN")[0]
    match = re.search(rf"http://127\.0\.0\.1:8000({re.escape(prefix)}[^/\s]+/)", text)
    assert match, text
    return match[1]


def approve(comments, capture, by=None):
    with capture(execute=True):
        Comment.objects.filter(pk__in=[c.pk for c in comments]).approve(by)


# The form


def test_the_form_offers_both_notices_unticked(client, article):
    html = client.get(article.get_absolute_url()).content.decode()
    for name, label in [("notify_on_publish", PUBLISH_LABEL), ("notify_on_reply", REPLY_LABEL)]:
        assert f'<input type="checkbox" name="{name}" id="id_{name}">' in html
        assert f'<label for="id_{name}">{label}</label>' in html


def test_ticked_boxes_are_stored_on_the_comment(
    client, article, django_capture_on_commit_callbacks
):
    comment = post(client, article, django_capture_on_commit_callbacks, notify_on_reply="on")
    assert (comment.notify_on_publish, comment.notify_on_reply) == (False, True)


# Double opt-in


def test_an_unconfirmed_address_gets_one_confirmation_mail_and_nothing_else(
    client, article, mailoutbox, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    comment = post(client, article, capture, notify_on_publish="on", notify_on_reply="on")
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["aiko@example.org"]
    assert message.subject == "[Perspectives] Please confirm your email address"
    assert link_in(message.body, "comments:confirm-address")
    # Published, and answered: still nothing, as the address is not confirmed.
    approve([comment], capture)
    reply = make_comment(article, "An answer.", parent=comment, author_email="ken@example.org")
    reply.status = Comment.Status.PENDING
    reply.save()
    approve([reply], capture)
    # Another comment from the same address within the hour: no second confirmation.
    post(client, article, capture, body="A second thought.", notify_on_reply="on")
    assert len(mailoutbox) == 1


def test_no_mail_at_all_without_a_ticked_box(
    client, article, mailoutbox, django_capture_on_commit_callbacks
):
    comment = post(client, article, django_capture_on_commit_callbacks)
    approve([comment], django_capture_on_commit_callbacks)
    assert mailoutbox == []


def test_no_mail_before_the_commit(client, article, mailoutbox):
    client.post(
        reverse("comments:post", kwargs={"slug": article.slug}),
        comment_form_data(article, notify_on_reply="on"),
    )
    assert Comment.objects.count() == 1
    assert mailoutbox == []


def test_no_reply_mail_before_confirmation_then_one_after(
    article, mailoutbox, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    parent = make_comment(article, author_email="Aiko@Example.org", notify_on_reply=True)
    first = make_comment(article, "First answer.", parent=parent, status="pending")
    approve([first], capture)
    assert mailoutbox == []

    confirm("aiko@example.org")
    assert ConfirmedAddress.objects.filter(email="aiko@example.org").exists()
    second = make_comment(
        article, "Second answer.", parent=parent, status="pending", author_name="Ken"
    )
    approve([second], capture)
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["Aiko@Example.org"]
    assert message.subject == "[Perspectives] Ken replied to your comment on “An article”"
    assert "Second answer." in message.body
    assert f"#comment-{second.pk}" in message.body


def test_opening_the_confirmation_link_does_not_confirm_until_the_button(client):
    """Mail scanners open links; only the POST of the button confirms."""
    url = reverse("comments:confirm-address", args=[confirmation_token("aiko@example.org")])
    response = client.get(url)
    assert response.status_code == 200
    assert "aiko@example.org" in response.content.decode()
    assert not ConfirmedAddress.objects.exists()
    client.post(url)
    assert ConfirmedAddress.objects.get().email == "aiko@example.org"


def test_publish_notice_goes_to_a_confirmed_address_that_asked(
    article, mailoutbox, django_capture_on_commit_callbacks
):
    confirm("aiko@example.org")
    asked = make_comment(article, "Asked.", status="pending", author_email="aiko@example.org")
    asked.notify_on_publish = True
    asked.save()
    silent = make_comment(
        article, "Did not ask.", status="pending", author_email="aiko@example.org"
    )
    approve([asked, silent], django_capture_on_commit_callbacks)
    assert [m.subject for m in mailoutbox] == [
        "[Perspectives] Your comment on “An article” is published"
    ]
    assert f"#comment-{asked.pk}" in mailoutbox[0].body


def test_no_reply_notice_for_answering_oneself_or_to_a_hidden_parent(
    article, mailoutbox, django_capture_on_commit_callbacks
):
    confirm("aiko@example.org")
    parent = make_comment(article, author_email="aiko@example.org", notify_on_reply=True)
    own = make_comment(
        article, "Me again.", parent=parent, status="pending", author_email="AIKO@example.org"
    )
    approve([own], django_capture_on_commit_callbacks)
    hidden = make_comment(article, author_email="aiko@example.org", notify_on_reply=True)
    late = make_comment(article, "Late answer.", parent=hidden, status="pending")
    Comment.objects.filter(pk=hidden.pk).reject(None)
    approve([late], django_capture_on_commit_callbacks)
    assert mailoutbox == []


def test_a_reply_published_at_once_notifies_the_parent(
    client, article, mailoutbox, django_capture_on_commit_callbacks
):
    """A known commenter's reply is approved on arrival, without passing a moderator."""
    from comments.models import ModerationRules

    rules = ModerationRules.load()
    rules.approve_known_commenters = True
    rules.save()
    confirm("ken@example.org")
    parent = make_comment(article, author_email="ken@example.org", notify_on_reply=True)
    make_comment(article, "Earlier.", author_email="aiko@example.org")
    reply = post(client, article, django_capture_on_commit_callbacks, parent=parent.pk)
    assert reply.is_approved
    assert [m.to for m in mailoutbox] == [["ken@example.org"]]


# Every mail can be stopped


def test_every_commenter_mail_carries_a_one_click_unsubscribe(
    client, article, mailoutbox, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    comment = post(client, article, capture, notify_on_publish="on", notify_on_reply="on")
    confirm("aiko@example.org")
    approve([comment], capture)
    reply = make_comment(
        article, "Answer.", parent=comment, status="pending", author_email="ken@example.org"
    )
    approve([reply], capture)
    assert len(mailoutbox) == 3  # confirmation, published, reply
    for message in mailoutbox:
        path = link_in(message.body, "comments:unsubscribe")
        assert message.extra_headers["List-Unsubscribe"] == f"<http://127.0.0.1:8000{path}>"
        assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert link_in(message.body, "comments:commenter-home")
        headers = message.message()
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_one_click_unsubscribe_works_without_login_or_csrf_token(
    article, mailoutbox, django_capture_on_commit_callbacks
):
    confirm("aiko@example.org")
    parent = make_comment(
        article, author_email="aiko@example.org", notify_on_reply=True, notify_on_publish=True
    )
    url = reverse("comments:unsubscribe", args=[unsubscribe_token("aiko@example.org")])
    mail_client = Client(enforce_csrf_checks=True)
    response = mail_client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    parent.refresh_from_db()
    assert (parent.notify_on_publish, parent.notify_on_reply) == (False, False)
    assert not ConfirmedAddress.objects.exists()
    reply = make_comment(article, "Answer.", parent=parent, status="pending")
    approve([reply], django_capture_on_commit_callbacks)
    assert mailoutbox == []


def test_the_unsubscribe_page_asks_before_acting(client, article):
    confirm("aiko@example.org")
    url = reverse("comments:unsubscribe", args=[unsubscribe_token("aiko@example.org")])
    response = client.get(url)
    assert response.status_code == 200
    assert "Stop the emails" in response.content.decode()
    assert ConfirmedAddress.objects.exists()


@pytest.mark.parametrize("name", ["comments:unsubscribe", "comments:confirm-address"])
def test_tampered_mail_links_are_refused(client, name):
    make = unsubscribe_token if name == "comments:unsubscribe" else confirmation_token
    token = make("aiko@example.org")
    assert forge_token(token, e="aiko@example.org") == token  # the forgery keeps everything else
    for bad in [forge_token(token, e="ken@example.org"), token[:-2], "nonsense"]:
        assert client.post(reverse(name, args=[bad])).status_code == 400
    assert not ConfirmedAddress.objects.exists()


def test_an_unsubscribe_token_is_not_a_confirmation(client):
    """Each link has its own salt: one purpose's token never works for another."""
    url = reverse("comments:confirm-address", args=[unsubscribe_token("aiko@example.org")])
    assert client.post(url).status_code == 400
    assert not ConfirmedAddress.objects.exists()


def test_an_expired_confirmation_link_is_refused(client, settings, monkeypatch):
    settings.COMMENTS_LINK_MAX_AGE_DAYS = 30
    real_time = __import__("time").time
    monkeypatch.setattr("time.time", lambda: real_time() - 31 * 86400)
    token = confirmation_token("aiko@example.org")
    monkeypatch.setattr("time.time", real_time)
    response = client.post(reverse("comments:confirm-address", args=[token]))
    assert response.status_code == 410
    assert not ConfirmedAddress.objects.exists()


# Failures and the background


def test_a_mail_failure_is_logged_and_the_comment_kept(
    client, article, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broken_send(self, fail_silently=False):
        raise ConnectionRefusedError("SMTP server down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", broken_send)
    with caplog.at_level(logging.ERROR):
        comment = post(client, article, django_capture_on_commit_callbacks, notify_on_reply="on")
    assert Comment.objects.filter(pk=comment.pk).exists()
    assert "Could not send the commenter mail" in caplog.text
    assert "aiko@example.org" not in caplog.text


def test_a_failure_preparing_notices_never_breaks_moderation(
    article, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(
        "comments.notifications.ConfirmedAddress.objects.filter",
        lambda **kwargs: 1 / 0,
    )
    parent = make_comment(article, notify_on_reply=True)
    reply = make_comment(article, parent=parent, status="pending")
    with caplog.at_level(logging.ERROR):
        approve([reply], django_capture_on_commit_callbacks)
    reply.refresh_from_db()
    assert reply.is_approved
    assert "Could not prepare the publication notices" in caplog.text


def test_background_delivery_sends_on_the_pool(settings, article):
    settings.COMMENTS_MAIL_IN_BACKGROUND = True
    confirm("aiko@example.org")
    comment = make_comment(article, notify_on_publish=True)
    mail.outbox = []
    future = deliver([mail.EmailMessage("Subject", "Body", to=["aiko@example.org"])])
    future.result(timeout=10)
    assert [m.subject for m in mail.outbox] == ["Subject"]
    assert comment.pk


def test_no_reader_input_reaches_a_mail_header(article, mailoutbox):
    confirm("aiko@example.org")
    parent = make_comment(article, author_email="aiko@example.org", notify_on_reply=True)
    reply = make_comment(article, parent=parent, author_name="Eve\nBcc: victim@example.com")
    send_publication_notices([reply.pk])
    message = mailoutbox[0].message()
    assert "\n" not in mailoutbox[0].subject
    assert message["Bcc"] is None
