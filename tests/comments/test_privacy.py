"""Personal data: erasure checked in the database, exports, the IP purge, the privacy note."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import CommandError, call_command
from django.db.models import Q
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from comments.models import Comment, ConfirmedAddress
from comments.privacy import ERASED_BODY, ERASED_NAME, erase_personal_data
from tests.conftest import make_article, make_comment

pytestmark = pytest.mark.django_db

EMAIL = "aiko@example.org"
NAME = "Aiko Tanaka"
IP = "203.0.113.7"
UA = "AikoBrowser/9.9"
CHANGELIST = reverse("admin:comments_comment_changelist")


@pytest.fixture
def aikos_thread(article, django_user_model):
    """Aiko's comments in every status, one answered by Ken, plus Ken's own comment."""
    account = django_user_model.objects.create_user("aiko", EMAIL, "pw")
    fields = {
        "author_name": NAME,
        "author_email": "Aiko@Example.org",
        "author_url": "https://aiko.example.org/",
        "ip_address": IP,
        "user_agent": UA,
        "user": account,
        "notify_on_reply": True,
    }
    root = make_comment(article, "Aiko's published perspective.", **fields)
    others = [
        make_comment(article, f"Aiko's {status} words.", status=status, **fields)
        for status in ["pending", "rejected", "spam"]
    ]
    elsewhere = make_comment(make_article("Other"), "Aiko elsewhere.", **fields)
    reply = make_comment(
        article, "Ken answers Aiko.", parent=root, author_name="Ken", author_email="ken@example.org"
    )
    deeper = make_comment(
        article, "Aiko answers Ken.", parent=reply, **{**fields, "author_email": EMAIL}
    )
    ConfirmedAddress.objects.create(email=EMAIL)
    LogEntry.objects.log_actions(
        user_id=account.pk, queryset=[root], action_flag=2, change_message="Approved."
    )
    return {"root": root, "reply": reply, "deeper": deeper, "aikos": [root, *others, elsewhere]}


def assert_no_trace_of_aiko():
    """Look at every stored value of every comment, confirmation and history entry."""
    traces = [EMAIL, NAME, "Aiko's", "aiko.example.org", IP, UA]
    for row in Comment.objects.values():
        for value in row.values():
            for trace in traces:
                assert trace.lower() not in str(value).lower(), (row, trace)
    assert not ConfirmedAddress.objects.exists()
    for entry in LogEntry.objects.values("object_repr", "change_message"):
        assert NAME not in str(entry) and "Aiko's" not in str(entry)


def test_erase_leaves_no_personal_data_and_the_thread_whole(client, article, aikos_thread):
    approved_before = Comment.objects.approved().count()
    statuses_before = dict(Comment.objects.values_list("pk", "status"))
    assert erase_personal_data("AIKO@example.org") == 6
    assert_no_trace_of_aiko()
    for comment in Comment.objects.filter(pk__in=[c.pk for c in aikos_thread["aikos"]]):
        assert (comment.author_name, comment.author_email, comment.author_url) == (
            ERASED_NAME,
            "",
            "",
        )
        assert (comment.ip_address, comment.user_agent, comment.user_id) == (None, "", None)
        assert comment.body == ERASED_BODY and ERASED_BODY in comment.body_html
        assert not comment.notify_on_reply
    # Same rows, same statuses and parents: threads and counts hold.
    assert dict(Comment.objects.values_list("pk", "status")) == statuses_before
    assert Comment.objects.approved().count() == approved_before
    reply, deeper = aikos_thread["reply"], aikos_thread["deeper"]
    reply.refresh_from_db()
    deeper.refresh_from_db()
    assert reply.parent_id == aikos_thread["root"].pk and deeper.parent_id == reply.pk
    assert reply.author_name == "Ken" and reply.body == "Ken answers Aiko."
    html = client.get(article.get_absolute_url()).content.decode()
    assert "3 comments" in html  # erased comments keep their place and count
    assert html.index(ERASED_NAME) < html.index("Ken answers Aiko.")
    assert NAME not in html


def test_erasing_an_unknown_address_changes_nothing(aikos_thread):
    assert erase_personal_data("nobody@example.org") == 0
    assert erase_personal_data("  ") == 0
    assert Comment.objects.filter(author_email__iexact=EMAIL).count() == 6


# Management commands


def test_export_command_prints_everything_for_the_address(aikos_thread):
    out = StringIO()
    call_command("export_personal_data", "AIKO@example.org", stdout=out)
    data = json.loads(out.getvalue())
    assert data["email"] == EMAIL
    assert data["address_confirmed_at"]
    assert len(data["comments"]) == 6
    first = data["comments"][0]
    assert (first["name"], first["ip_address"], first["user_agent"]) == (NAME, IP, UA)
    assert first["account"] == "aiko"


def test_export_command_refuses_a_non_address():
    with pytest.raises(CommandError):
        call_command("export_personal_data", "not an address")


def test_erase_command_asks_unless_told_yes(aikos_thread, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(CommandError, match="Nothing erased"):
        call_command("erase_personal_data", EMAIL)
    assert Comment.objects.filter(author_email__iexact=EMAIL).count() == 6
    out = StringIO()
    call_command("erase_personal_data", EMAIL, "--yes", stdout=out)
    assert "from 6 comment(s)" in out.getvalue()
    assert_no_trace_of_aiko()


# Admin actions


def test_admin_export_downloads_json_for_the_selected_commenters(staff_client, aikos_thread):
    response = staff_client.post(
        CHANGELIST + "?status=all",
        {"action": "export_personal_data", "_selected_action": [aikos_thread["root"].pk]},
    )
    assert response["Content-Disposition"] == 'attachment; filename="personal-data.json"'
    data = json.loads(response.content)
    assert [address["email"] for address in data["addresses"]] == [EMAIL]
    assert len(data["addresses"][0]["comments"]) == 6


def test_admin_erase_asks_then_erases(staff_client, aikos_thread):
    selected = {"action": "erase_personal_data", "_selected_action": [aikos_thread["root"].pk]}
    page = staff_client.post(CHANGELIST + "?status=all", selected)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Erase personal data?" in html and f"{EMAIL}: 6 comments" in html
    assert Comment.objects.filter(author_email__iexact=EMAIL).count() == 6
    done = staff_client.post(CHANGELIST + "?status=all", {**selected, "post": "yes"})
    assert done.status_code == 302
    assert_no_trace_of_aiko()
    assert LogEntry.objects.filter(change_message="Personal data of its author erased.").exists()


def test_moderators_may_export_but_not_erase(moderator_client, aikos_thread):
    html = moderator_client.get(CHANGELIST).content.decode()
    assert 'value="export_personal_data"' in html
    assert 'value="erase_personal_data"' not in html
    moderator_client.post(
        CHANGELIST + "?status=all",
        {
            "action": "erase_personal_data",
            "_selected_action": [aikos_thread["root"].pk],
            "post": "yes",
        },
    )
    assert Comment.objects.filter(author_email__iexact=EMAIL).count() == 6


# Clearing old IP addresses


def old_and_new(article):
    now = timezone.now()
    old = [
        make_comment(
            article,
            f"Old {n}.",
            ip_address=IP,
            user_agent=UA,
            created_at=now - timedelta(days=91 + n),
        )
        for n in range(5)
    ]
    recent = make_comment(
        article, "Recent.", ip_address=IP, user_agent=UA, created_at=now - timedelta(days=89)
    )
    return old, recent


def test_purge_clears_old_addresses_and_browsers_only(article, settings):
    settings.COMMENTS_KEEP_IP_DAYS = 90
    old, recent = old_and_new(article)
    out, err = StringIO(), StringIO()
    call_command("purge_ip_addresses", "--batch-size", "2", stdout=out, stderr=err)
    assert "Cleared the IP address and browser of 5 comments older than 90 days." in out.getvalue()
    assert err.getvalue() == ""  # not a terminal: no progress bar, as under cron
    assert not Comment.objects.filter(pk__in=[c.pk for c in old], ip_address__isnull=False)
    assert not Comment.objects.filter(pk__in=[c.pk for c in old]).exclude(user_agent="")
    recent.refresh_from_db()
    assert (recent.ip_address, recent.user_agent) == (IP, UA)
    # The comments themselves are untouched.
    assert Comment.objects.filter(body__startswith="Old").count() == 5


def test_purge_is_idempotent(article):
    old_and_new(article)
    call_command("purge_ip_addresses", "--days", "90", stdout=StringIO())
    out = StringIO()
    call_command("purge_ip_addresses", "--days", "90", stdout=out)
    assert "of 0 comments" in out.getvalue()


def test_purge_draws_a_progress_bar_on_request(article):
    old_and_new(article)
    err = StringIO()
    call_command(
        "purge_ip_addresses",
        "--days",
        "30",
        "--batch-size",
        "4",
        "--progress",
        stdout=StringIO(),
        stderr=err,
    )
    assert f"\r[{'#' * 20}{'.' * 10}] 4/6" in err.getvalue()
    assert f"\r[{'#' * 30}] 6/6" in err.getvalue()


def test_purge_with_keeping_turned_off_does_nothing(article, settings):
    settings.COMMENTS_KEEP_IP_DAYS = 0
    old, _ = old_and_new(article)
    out = StringIO()
    call_command("purge_ip_addresses", stdout=out)
    assert "IP addresses are kept" in out.getvalue()
    assert Comment.objects.filter(ip_address=IP).count() == 6
    with pytest.raises(CommandError):
        call_command("purge_ip_addresses", "--days", "0")


def test_purge_works_in_batches_of_two_queries(article, django_assert_num_queries):
    old_and_new(article)
    # count, then (select ids, update) per batch of 2 over 5 comments, then the empty select
    with django_assert_num_queries(1 + 2 * 3 + 1):
        call_command("purge_ip_addresses", "--days", "90", "--batch-size", "2", stdout=StringIO())


# The note next to the form


def test_the_form_says_what_is_stored_and_for_how_long(client, article, settings):
    settings.COMMENTS_KEEP_IP_DAYS = 90
    html = Client().get(article.get_absolute_url()).content.decode()
    note = html[html.index('class="comment-form__note comment-form__privacy"') :]
    note = " ".join(note[: note.index("</p>")].split())
    for words in [
        "your name, your email address (never shown), your website and your comment",
        "IP address and browser you send it from, deleted after 90 days",
        "private link to see, edit, withdraw or erase your comments",
        f'<a href="{reverse("comments:commenter-link-request")}">lost it?</a>',
    ]:
        assert words in note
    assert client.get(reverse("comments:commenter-link-request")).status_code == 200


def test_the_search_for_an_address_finds_its_comments_whatever_the_case(aikos_thread):
    assert Comment.objects.by_email("AIKO@EXAMPLE.ORG").count() == 6
    assert not Comment.objects.by_email("aiko@example.or").exists()
    assert Comment.objects.filter(Q(author_email="ken@example.org")).count() == 1
