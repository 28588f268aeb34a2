import pytest
from django.core.exceptions import ValidationError

from blog.models import Insight
from comments.models import Comment, ModerationRules
from tests.conftest import make_article, make_comment

pytestmark = pytest.mark.django_db


def test_body_is_rendered_and_sanitised_at_save(article):
    comment = make_comment(
        article, "Some *emphasis*, https://example.org\n\n# Heading\n\n![pic](https://x.test/a.png)"
    )
    assert "<em>emphasis</em>" in comment.body_html
    assert 'rel="nofollow ugc noopener noreferrer"' in comment.body_html
    assert "<h1" not in comment.body_html and "<img" not in comment.body_html


def test_the_stored_html_follows_the_body_as_saved(article):
    comment = make_comment(article, "First *draft*.", status=Comment.Status.PENDING)
    assert comment.rendered_body() == "<p>First <em>draft</em>.</p>"
    comment.body = "Second thoughts."
    comment.save()
    comment.refresh_from_db()
    assert comment.body_html == "<p>Second thoughts.</p>"


def test_depth_follows_the_parent(comment):
    reply = make_comment(comment.article, parent=comment)
    assert (comment.depth, reply.depth) == (0, 1)
    assert make_comment(comment.article, parent=reply).depth == 2


def test_queue_verbs_set_status_and_who_moderated_when(article, staff_user):
    comments = [make_comment(article, status=Comment.Status.PENDING) for _ in range(2)]
    assert list(Comment.objects.pending()) == comments
    assert Comment.objects.pending().approve(staff_user) == 2
    approved = Comment.objects.approved()
    assert list(approved) == comments
    assert all(c.moderated_by == staff_user and c.moderated_at for c in approved)


@pytest.mark.parametrize(
    ("verb", "status"),
    [
        ("approve", Comment.Status.APPROVED),
        ("reject", Comment.Status.REJECTED),
        ("mark_spam", Comment.Status.SPAM),
        ("return_to_pending", Comment.Status.PENDING),
    ],
)
def test_each_moderation_verb(comment, staff_user, verb, status):
    getattr(Comment.objects.filter(pk=comment.pk), verb)(staff_user)
    comment.refresh_from_db()
    assert comment.status == status
    assert comment.moderated_by == staff_user


def test_reject_keeps_the_reason_given(comment, staff_user):
    Comment.objects.filter(pk=comment.pk).reject(staff_user, reason="Off topic")
    comment.refresh_from_db()
    assert comment.moderation_reason == "Off topic"


def test_a_reply_must_belong_to_the_same_article(comment):
    other = make_article("Other")
    reply = Comment(article=other, parent=comment, author_name="A", body="x")
    with pytest.raises(ValidationError) as error:
        reply.clean()
    assert "parent" in error.value.message_dict


def test_an_insight_must_belong_to_the_same_article(article):
    foreign = Insight.objects.filter(section__article=make_article("Other")).first()
    comment = Comment(article=article, insight=foreign, author_name="A", body="x")
    with pytest.raises(ValidationError) as error:
        comment.clean()
    assert "insight" in error.value.message_dict
    comment.insight = Insight.objects.filter(section__article=article).first()
    comment.clean()


def test_permalink_names_the_page_of_its_thread(article, settings):
    settings.COMMENTS_PER_PAGE = 2
    first, second, third = (make_comment(article) for _ in range(3))
    reply = make_comment(article, parent=third)
    assert first.get_absolute_url() == f"{article.get_absolute_url()}#comment-{first.pk}"
    assert third.get_absolute_url() == f"{article.get_absolute_url()}?cpage=2#comment-{third.pk}"
    assert reply.get_absolute_url() == f"{article.get_absolute_url()}?cpage=2#comment-{reply.pk}"


def test_moderation_rules_are_a_single_row():
    rules = ModerationRules.load()
    assert (rules.max_links, rules.approve_known_commenters) == (2, False)
    ModerationRules(max_links=5).save()
    assert ModerationRules.objects.count() == 1
    assert ModerationRules.load().max_links == 5


def test_word_lists_are_one_per_line():
    rules = ModerationRules(moderation_words="casino\n\n  cheap pills  \n")
    assert rules.moderation_word_list == ["casino", "cheap pills"]
