"""Perspectives on an insight: a comment bound to one actionable insight of its article."""

import pytest
from django.test import Client

from blog.models import Article, Insight
from comments.models import Comment
from tests.conftest import comment_form_data, make_article, make_comment

pytestmark = pytest.mark.django_db


@pytest.fixture
def insight(article):
    return Insight.objects.get(section__article=article)


def test_each_insight_offers_a_response_link_while_comments_are_open(client, article, insight):
    html = client.get(article.get_absolute_url()).content.decode()
    assert f'href="{article.get_absolute_url()}?insight={insight.pk}#comment-form"' in html
    assert "Respond to this insight" in html
    Article.objects.filter(pk=article.pk).update(discussion=Article.Discussion.CLOSED)
    article.refresh_from_db()
    article.save()  # drops the cached page, as an editor's change would
    assert (
        "Respond to this insight" not in Client().get(article.get_absolute_url()).content.decode()
    )


def test_the_link_opens_the_form_bound_to_the_insight_without_javascript(client, article, insight):
    html = client.get(article.get_absolute_url(), {"insight": insight.pk}).content.decode()
    assert "Responding to the insight:" in html
    assert f'name="insight" value="{insight.pk}"' in html


def test_a_posted_perspective_stores_its_insight_and_shows_it(client, article, insight):
    data = comment_form_data(article, insight=insight.pk, body="The review should be yearly.")
    response = client.post(f"/articles/{article.slug}/comments/", data)
    assert response.status_code == 302
    comment = Comment.objects.get()
    assert comment.insight == insight
    Comment.objects.filter(pk=comment.pk).update(status=Comment.Status.APPROVED)
    article.save()
    html = Client().get(article.get_absolute_url()).content.decode()
    assert '<p class="comment__insight">On: <em>Analysts should act 0.</em></p>' in html


def test_an_insight_of_another_article_is_refused(client, article):
    other = make_article("Other")
    foreign = Insight.objects.get(section__article=other)
    data = comment_form_data(article, insight=foreign.pk)
    response = client.post(f"/articles/{article.slug}/comments/", data)
    assert response.status_code == 400
    assert "That insight is not part of this article." in response.content.decode()
    assert not Comment.objects.exists()


def test_each_insight_counts_its_approved_perspectives_only(client, article, insight):
    make_comment(article, insight=insight)
    make_comment(article, insight=insight)
    make_comment(article, insight=insight, status=Comment.Status.PENDING)
    make_comment(article, insight=insight, status=Comment.Status.SPAM)
    make_comment(article)
    html = client.get(article.get_absolute_url()).content.decode()
    assert "2 perspectives" in html


def test_names_are_escaped_and_only_web_addresses_are_linked(client, article):
    make_comment(article, author_name="<b>Bold</b>", author_url="javascript:alert(1)")
    make_comment(article, author_name="Site owner", author_url="https://example.org/me")
    html = client.get(article.get_absolute_url()).content.decode()
    assert "<bdi>&lt;b&gt;Bold&lt;/b&gt;</bdi>" in html
    assert "javascript:alert" not in html
    assert (
        '<a href="https://example.org/me" rel="nofollow ugc noopener"><bdi>Site owner</bdi></a>'
        in html
    )
