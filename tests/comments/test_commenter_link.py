"""A commenter's private link: status, edit, withdraw, export and erase, without an account."""

import json
import re
import time

import pytest
from django.test import Client
from django.urls import reverse

from comments.links import commenter_link, read_commenter_link
from comments.models import Comment, ModerationDecision, RejectionReason
from comments.privacy import WITHDRAWN_BODY, WITHDRAWN_NAME
from tests.conftest import comment_form_data, forge_token, make_article, make_comment

pytestmark = pytest.mark.django_db

PRIVATE_LINK = re.compile(r'private link to see, edit or withdraw your comment: <a href="([^"]+)">')


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.COMMENTS_RATE_LIMIT = 0


def post(client, article, **fields):
    response = client.post(
        reverse("comments:post", kwargs={"slug": article.slug}),
        comment_form_data(article, **fields),
    )
    assert response.status_code == 302
    return response


def url_of(email, *ids, name="comments:commenter-home", args=()):
    link = commenter_link(email, ids or None)
    return link.url(name, *args)


def expired_token(email, days):
    real_time = time.time
    try:
        time.time = lambda: real_time() - days * 86400
        return commenter_link(email).token
    finally:
        time.time = real_time


# The link after posting


def test_after_posting_the_notice_holds_a_private_link(client, article):
    response = post(client, article)
    page = client.get(response["Location"]).content.decode()
    match = PRIVATE_LINK.search(page)
    assert match, page
    assert match[1].startswith("http://testserver/comments/me/")
    private = client.get(match[1])
    assert private.status_code == 200
    html = private.content.decode()
    assert "Diplomacy deserves a line in the budget too." in html
    assert "Awaiting moderation" in html


def test_the_private_link_is_never_in_the_cached_page(client, article):
    post(client, article)
    anonymous = Client()
    for _ in range(2):  # the second is served from the page cache
        html = anonymous.get(article.get_absolute_url()).content.decode()
        assert not PRIVATE_LINK.search(html)
        assert not re.search(r"/comments/me/[^\"]", html)


def test_the_link_shown_after_posting_opens_only_this_browsers_comments(client, article):
    """Typing someone's address into the form must not open their other comments."""
    make_comment(article, "Written by the real Aiko, long ago.", author_email="aiko@example.org")
    response = post(client, article)
    link = PRIVATE_LINK.search(client.get(response["Location"]).content.decode())[1]
    html = client.get(link).content.decode()
    assert "Diplomacy deserves a line" in html
    assert "Written by the real Aiko" not in html
    export = json.loads(client.get(link + "export.json").content)
    assert [c["comment"] for c in export["comments"]] == [
        "Diplomacy deserves a line in the budget too."
    ]
    assert "address_confirmed_at" not in export


def test_each_notice_links_this_browsers_comments_written_with_that_address(client, article):
    """The comment just posted is in its own link; earlier ones only under the same address."""

    def ids_in_the_notice(response):
        link = PRIVATE_LINK.search(client.get(response["Location"]).content.decode())[1]
        return read_commenter_link(link.split("/comments/me/")[1].strip("/")).comment_ids

    first = ids_in_the_notice(post(client, article, body="First."))
    second = ids_in_the_notice(
        post(client, article, body="Second.", author_email="AIKO@example.org")
    )
    third = ids_in_the_notice(post(client, article, body="Third.", author_email="ken@example.org"))
    pks = dict(Comment.objects.values_list("body", "pk"))
    assert first == (pks["First."],)
    assert second == (pks["First."], pks["Second."])
    assert third == (pks["Third."],)


def test_the_mailed_link_opens_every_comment_of_the_address_ignoring_case(client, article):
    make_comment(article, "First.", author_email="Aiko@Example.org")
    make_comment(make_article("Other"), "Second.", author_email="aiko@example.org")
    make_comment(article, "Someone else's.", author_email="ken@example.org")
    html = client.get(url_of("AIKO@example.org")).content.decode()
    assert "First." in html and "Second." in html
    assert "Someone else" not in html


def test_statuses_and_the_reason_a_moderator_chose_to_share(client, article):
    shared = RejectionReason.objects.create(
        label="off-topic", public_text="It strays from the article’s subject."
    )
    private = RejectionReason.objects.create(
        label="legal", public_text="Our lawyer said no.", is_shown_to_author=False
    )
    make_comment(article, "Pending one.", status="pending")
    make_comment(article, "Published one.")
    make_comment(article, "Off topic one.", status="rejected", rejection_reason=shared)
    make_comment(article, "Legal one.", status="rejected", rejection_reason=private)
    make_comment(article, "Spam one.", status="spam", moderation_reason="Spam: viagra")
    html = client.get(url_of("reader@example.org")).content.decode()
    assert html.count("<strong>Awaiting moderation</strong>") == 1
    assert html.count("<strong>Published</strong>") == 1
    assert html.count("<strong>Not published</strong>") == 3
    assert "It strays from the article’s subject." in html
    assert "Our lawyer said no." not in html and "legal" not in html
    assert "viagra" not in html


def test_private_pages_are_not_cached_indexed_or_leaked_by_referer(client, article):
    make_comment(article)
    response = client.get(url_of("reader@example.org"))
    assert "no-cache" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response["X-Robots-Tag"]


# Signed links refuse tampering and expiry


def test_a_tampered_link_is_refused_with_a_clear_page(client, article):
    make_comment(article, "Ken's words.", author_email="ken@example.org")
    token = commenter_link("aiko@example.org").token
    for bad in [forge_token(token, e="ken@example.org"), token[:-3], token + "x", "garbage"]:
        response = client.get(reverse("comments:commenter-home", args=[bad]))
        assert response.status_code == 400
        html = response.content.decode()
        assert "This private link does not work" in html
        assert "Ken's words." not in html


def test_a_scoped_link_cannot_be_widened(client, article):
    mine = make_comment(article, "Mine.", status="pending")
    theirs = make_comment(article, "Also the address, not mine.", status="pending")
    token = commenter_link("reader@example.org", [mine.pk]).token
    widened = forge_token(token, e="reader@example.org", c=[mine.pk, theirs.pk])
    assert client.get(reverse("comments:commenter-home", args=[widened])).status_code == 400
    edit = url_of("reader@example.org", mine.pk, name="comments:commenter-edit", args=[theirs.pk])
    assert client.get(edit).status_code == 404


def test_another_purposes_token_is_refused(client):
    from comments.links import unsubscribe_token

    token = unsubscribe_token("aiko@example.org")
    assert client.get(reverse("comments:commenter-home", args=[token])).status_code == 400


def test_an_expired_link_offers_to_mail_a_fresh_one(client, article, settings, mailoutbox):
    settings.COMMENTS_LINK_MAX_AGE_DAYS = 30
    make_comment(article, "Old words.", author_email="aiko@example.org")
    assert client.get(url_of("aiko@example.org")).status_code == 200
    token = expired_token("aiko@example.org", days=31)
    response = client.get(reverse("comments:commenter-home", args=[token]))
    assert response.status_code == 410
    html = response.content.decode()
    assert "This private link has expired" in html
    assert "Old words." not in html
    assert f'action="{reverse("comments:commenter-link-request")}"' in html

    sent = client.post(reverse("comments:commenter-link-request"), {"email": "aiko@example.org"})
    assert sent.status_code == 200
    assert "/comments/me/e" not in sent.content.decode()  # never shown, only mailed
    assert [m.to for m in mailoutbox] == [["aiko@example.org"]]
    fresh = re.search(r"http://127\.0\.0\.1:8000(/comments/me/\S+/)", mailoutbox[0].body)[1]
    assert "Old words." in client.get(fresh).content.decode()
    assert mailoutbox[0].extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_fresh_link_goes_only_to_addresses_with_comments_and_not_too_often(
    client, article, mailoutbox
):
    make_comment(article, author_email="aiko@example.org")
    url = reverse("comments:commenter-link-request")
    stranger = client.post(url, {"email": "stranger@example.org"})
    known = client.post(url, {"email": "aiko@example.org"})
    again = client.post(url, {"email": "Aiko@example.org"})
    assert stranger.content == known.content == again.content  # nothing told about who commented
    assert len(mailoutbox) == 1


# Edit, withdraw, export, erase


def test_a_pending_comment_can_be_edited_and_stays_pending(client, article):
    comment = make_comment(article, "Frist draft.", status="pending")
    url = url_of("reader@example.org", name="comments:commenter-edit", args=[comment.pk])
    assert "Frist draft." in client.get(url).content.decode()
    response = client.post(url, {"body": "First *draft*."})
    assert response.status_code == 302
    comment.refresh_from_db()
    assert (comment.body, comment.status) == ("First *draft*.", "pending")
    assert comment.body_html == "<p>First <em>draft</em>.</p>"
    assert "still awaits moderation" in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize("status", ["approved", "rejected", "spam"])
def test_a_decided_comment_cannot_be_edited(client, article, status):
    comment = make_comment(article, "Decided.", status=status)
    url = url_of("reader@example.org", name="comments:commenter-edit", args=[comment.pk])
    client.post(url, {"body": "Sneaked in after approval."})
    comment.refresh_from_db()
    assert comment.body == "Decided."


def test_edits_are_validated(client, article):
    comment = make_comment(article, "Draft.", status="pending")
    url = url_of("reader@example.org", name="comments:commenter-edit", args=[comment.pk])
    assert client.post(url, {"body": "bell \x07"}).status_code == 200
    comment.refresh_from_db()
    assert comment.body == "Draft."


def test_withdrawing_an_unanswered_comment_deletes_it_and_keeps_the_trail(client, article):
    comment = make_comment(article, "Regretted.", status="pending")
    url = url_of("reader@example.org", name="comments:commenter-withdraw", args=[comment.pk])
    assert "Regretted." in client.get(url).content.decode()
    assert Comment.objects.filter(pk=comment.pk).exists()  # GET only asks
    assert client.post(url).status_code == 302
    assert not Comment.objects.filter(pk=comment.pk).exists()
    decision = ModerationDecision.objects.get(source="commenter")
    assert (decision.comment, decision.from_status, decision.to_status) == (
        None,
        "pending",
        "withdrawn",
    )


def test_withdrawing_an_answered_comment_keeps_its_place_without_its_words(client, article):
    comment = make_comment(article, "Regretted words.", author_url="https://aiko.example.org")
    reply = make_comment(article, "An answer.", parent=comment, author_email="ken@example.org")
    url = url_of("reader@example.org", name="comments:commenter-withdraw", args=[comment.pk])
    client.post(url)
    comment.refresh_from_db()
    assert (comment.author_name, comment.body, comment.author_email) == (
        WITHDRAWN_NAME,
        WITHDRAWN_BODY,
        "",
    )
    assert (comment.author_url, comment.ip_address, comment.status) == ("", None, "approved")
    reply.refresh_from_db()
    assert reply.parent_id == comment.pk
    html = Client().get(article.get_absolute_url()).content.decode()
    assert "Regretted words." not in html and "An answer." in html
    assert "[withdrawn by its author]" in html


def test_export_downloads_every_field_stored(client, article):
    make_comment(
        article,
        "Exported.",
        author_url="https://aiko.example.org",
        ip_address="203.0.113.7",
        user_agent="TestBrowser/1.0",
    )
    response = client.get(url_of("reader@example.org", name="comments:commenter-export"))
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="my-comments.json"'
    data = json.loads(response.content)
    assert data["email"] == "reader@example.org"
    assert data["address_confirmed_at"] is None
    (record,) = data["comments"]
    assert record["comment"] == "Exported."
    assert (record["ip_address"], record["user_agent"]) == ("203.0.113.7", "TestBrowser/1.0")
    assert record["website"] == "https://aiko.example.org"


def test_erase_asks_first_then_removes_the_personal_data(client, article):
    comment = make_comment(article, "Erase me.", ip_address="203.0.113.7")
    url = url_of("reader@example.org", name="comments:commenter-erase")
    assert "Erase my data" in client.get(url).content.decode()
    comment.refresh_from_db()
    assert comment.body == "Erase me."
    response = client.post(url)
    assert response.status_code == 302
    comment.refresh_from_db()
    assert (comment.author_email, comment.ip_address, comment.author_name) == (
        "",
        None,
        "Anonymous",
    )
    assert "Your personal data is erased from 1 comment." in (
        client.get(response["Location"]).content.decode()
    )


def test_every_change_needs_a_post_with_a_csrf_token(article):
    comment = make_comment(article, "Keep me.", status="pending")
    browser = Client(enforce_csrf_checks=True)
    for name, args in [
        ("comments:commenter-withdraw", [comment.pk]),
        ("comments:commenter-erase", []),
        ("comments:commenter-edit", [comment.pk]),
    ]:
        url = url_of("reader@example.org", name=name, args=args)
        assert browser.post(url, {"body": "Changed."}).status_code == 403
    comment.refresh_from_db()
    assert (comment.body, comment.author_email) == ("Keep me.", "reader@example.org")
