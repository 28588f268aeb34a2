import pytest
from django.test import Client

from comments.models import Comment
from tests.conftest import make_article, make_comment

pytestmark = pytest.mark.django_db

UNSHOWN = [Comment.Status.PENDING, Comment.Status.REJECTED, Comment.Status.SPAM]


@pytest.fixture
def thread(article):
    make_comment(article, "Published perspective on budgets.")
    for status in UNSHOWN:
        make_comment(article, f"Secret {status} text.", status=status)
    draft = make_article("Draft piece", status="draft")
    make_comment(draft, "Approved but on a draft.")
    return article


@pytest.mark.parametrize("url", ["/comments/feed/", "/articles/an-article/comments/feed/"])
def test_comment_feeds_carry_approved_comments_only(client, thread, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    body = response.content.decode()
    assert "Published perspective on budgets." in body
    assert "Secret" not in body
    assert "Approved but on a draft." not in body


def test_article_comment_feed_of_an_unpublished_article_is_404(client, thread):
    assert client.get("/articles/draft-piece/comments/feed/").status_code == 404


def test_pages_advertise_the_comment_feeds(thread):
    html = Client().get(thread.get_absolute_url()).content.decode()
    assert 'href="/comments/feed/"' in html
    assert f'href="/articles/{thread.slug}/comments/feed/"' in html


def test_article_json_ld_counts_approved_comments_only(thread):
    import json

    html = Client().get(thread.get_absolute_url()).content.decode()
    script = html.split('<script type="application/ld+json">')[1].split("</script>")[0]
    data = json.loads(script)
    assert data["@type"] in {"Article", "BlogPosting"}
    assert data["commentCount"] == 1
