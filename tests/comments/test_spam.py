import pytest

from comments.models import Comment, ModerationRules
from comments.spam import Verdict, assess
from tests.conftest import make_comment

pytestmark = pytest.mark.django_db


def new_comment(article, **fields):
    fields = {
        "author_name": "Reader",
        "author_email": "new@example.org",
        "body": "A thoughtful perspective.",
        "ip_address": "203.0.113.7",
        "user_agent": "Mozilla/5.0",
        **fields,
    }
    return Comment(article=article, **fields)


def set_rules(**fields):
    rules = ModerationRules.load()
    for name, value in fields.items():
        setattr(rules, name, value)
    rules.save()


def always_hold(comment, request, rules):
    """A stand-in for a later spam defence appended to the chain."""
    return Verdict(Comment.Status.PENDING, "Held: test check")


def test_with_no_rule_firing_every_comment_waits(article, rf):
    assert assess(new_comment(article), rf.post("/")) == Verdict("pending", "Awaiting moderation")


def test_more_links_than_allowed_are_held(article, rf):
    body = "See https://a.example, https://b.example and [c](https://c.example)."
    verdict = assess(new_comment(article, body=body), rf.post("/"))
    assert verdict == Verdict("pending", "Held: 3 links (more than 2)")
    set_rules(max_links=3)
    assert assess(new_comment(article, body=body), rf.post("/")).reason == "Awaiting moderation"


@pytest.mark.parametrize(
    ("field", "value", "label"),
    [
        ("author_name", "Casino Royale", "name"),
        ("author_email", "win@casino.example", "email"),
        ("author_url", "https://casino.example/", "website"),
        ("body", "Try the CASINO.", "text"),
        ("user_agent", "casino-bot/1.0", "browser"),
    ],
)
def test_a_moderation_word_in_any_field_holds_the_comment(article, rf, field, value, label):
    set_rules(moderation_words="casino")
    verdict = assess(new_comment(article, **{field: value}), rf.post("/"))
    assert verdict == Verdict("pending", f"Held: contains moderation word “casino” in {label}")


def test_a_moderation_word_matches_the_ip_address(article, rf):
    set_rules(moderation_words="198.51.100.")
    verdict = assess(new_comment(article, ip_address="198.51.100.23"), rf.post("/"))
    assert verdict.reason == "Held: contains moderation word “198.51.100.” in IP address"


def test_a_disallowed_word_marks_spam_before_other_rules(article, rf):
    set_rules(moderation_words="pills", disallowed_words="cheap pills")
    body = "cheap pills https://a.example https://b.example https://c.example"
    verdict = assess(new_comment(article, body=body), rf.post("/"))
    assert verdict == Verdict("spam", "Spam: contains disallowed word “cheap pills” in text")


def test_known_commenters_are_approved_only_when_the_rule_is_on(article, rf):
    make_comment(article, author_email="regular@example.org")
    returning = new_comment(article, author_email="Regular@Example.org")
    assert assess(returning, rf.post("/")).status == "pending"
    set_rules(approve_known_commenters=True)
    assert assess(returning, rf.post("/")) == Verdict("approved", "Approved: known commenter")


def test_a_pending_comment_does_not_make_a_known_commenter(article, rf):
    set_rules(approve_known_commenters=True)
    make_comment(article, author_email="new@example.org", status=Comment.Status.PENDING)
    assert assess(new_comment(article), rf.post("/")).status == "pending"


def test_a_rule_that_fires_holds_even_a_known_commenter(article, rf):
    set_rules(approve_known_commenters=True, moderation_words="casino")
    make_comment(article, author_email="new@example.org")
    verdict = assess(new_comment(article, body="casino"), rf.post("/"))
    assert verdict.status == "pending"


def test_later_defences_are_appended_to_the_chain(article, rf, settings):
    settings.COMMENTS_CHECKS = [*settings.COMMENTS_CHECKS, "tests.comments.test_spam.always_hold"]
    set_rules(approve_known_commenters=True)
    make_comment(article, author_email="new@example.org")
    assert assess(new_comment(article), rf.post("/")) == Verdict("pending", "Held: test check")
