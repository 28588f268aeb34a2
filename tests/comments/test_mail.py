import logging

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from blog.models import Article
from comments.models import Comment, ModerationRules
from comments.notifications import moderator_emails, notify_moderators
from tests.conftest import comment_form_data, make_article, make_comment

pytestmark = pytest.mark.django_db

VALID = {
    "author_name": "Aiko Tanaka",
    "author_email": "aiko@example.org",
    "body": "Diplomacy deserves a line in the budget too.",
}


def post(client, article, **fields):
    url = reverse("comments:post", kwargs={"slug": article.slug})
    return client.post(url, comment_form_data(article, **{**VALID, **fields}))


@pytest.fixture
def recipients(django_user_model, moderator, staff_user):
    """A superuser and a moderator get the notice; an inactive moderator and plain staff do not."""
    inactive = django_user_model.objects.create_user(
        "gone", "gone@example.com", "pw", is_staff=True, is_active=False
    )
    inactive.groups.add(Group.objects.get(name="Moderators"))
    django_user_model.objects.create_user("writer", "writer@example.com", "pw", is_staff=True)
    return ["moderator@example.com", "staff@example.com"]


def test_moderators_are_active_superusers_and_group_members(recipients):
    assert moderator_emails() == recipients


def test_a_held_comment_emails_the_moderators(
    client, article, recipients, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(client, article)
    comment = Comment.objects.get()
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert sorted(message.to) == recipients
    assert message.subject == "[Perspectives] Comment held on “An article” by Aiko Tanaka"
    change_url = reverse("admin:comments_comment_change", args=[comment.pk])
    assert f"http://testserver{change_url}" in message.body
    assert "An article" in message.body
    assert VALID["body"] in message.body
    assert "Awaiting moderation" in message.body


def test_no_mail_before_the_comment_is_committed(client, article, recipients, mailoutbox):
    post(client, article)
    assert Comment.objects.count() == 1
    assert mailoutbox == []


def test_spam_and_approved_comments_send_no_mail(
    client, article, recipients, mailoutbox, django_capture_on_commit_callbacks
):
    rules = ModerationRules.load()
    rules.disallowed_words = "viagra"
    rules.approve_known_commenters = True
    rules.save()
    make_comment(article, author_email="regular@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        post(client, article, body="viagra")
        post(client, article, author_email="regular@example.org")
    assert [c.status for c in Comment.objects.order_by("pk")] == ["approved", "spam", "approved"]
    assert mailoutbox == []


def test_no_reader_input_reaches_a_mail_header(recipients, mailoutbox):
    article = make_article("Title\r\nBcc: victim@example.com")
    comment = make_comment(
        article, author_name="Eve\nCc: victim@example.com", status=Comment.Status.PENDING
    )
    notify_moderators(comment, "https://example.org/admin/")
    message = mailoutbox[0].message()
    assert "\n" not in mailoutbox[0].subject and "\r" not in mailoutbox[0].subject
    assert message["Bcc"] is None and message["Cc"] is None
    assert "victim@example.com" not in message["To"]


def test_a_mail_failure_is_logged_and_the_comment_kept(
    client, article, recipients, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broken_send_mail(*args, **kwargs):
        raise ConnectionRefusedError("SMTP server down")

    monkeypatch.setattr("comments.notifications.send_mail", broken_send_mail)
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        response = post(client, article)
    assert response.status_code == 302
    assert Comment.objects.count() == 1
    assert "Could not email the moderators" in caplog.text


def test_a_thread_on_a_closed_article_sends_nothing(
    client, recipients, mailoutbox, django_capture_on_commit_callbacks
):
    article = make_article(discussion=Article.Discussion.CLOSED)
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, article).status_code == 403
    assert mailoutbox == []
