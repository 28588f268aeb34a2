from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from blog.models import Article
from tests.conftest import make_article

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles():
    return {
        "live": make_article("Live article"),
        "draft": make_article("Draft article", status=Article.Status.DRAFT),
        "scheduled": make_article(
            "Scheduled article", published_at=timezone.now() + timedelta(days=1)
        ),
    }


@pytest.mark.parametrize("name", ["blog:feed-rss", "blog:feed-atom"])
def test_feeds_list_published_articles_only(client, articles, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Live article" in body
    assert articles["live"].get_absolute_url() in body
    assert "Draft article" not in body and "Scheduled article" not in body


def test_atom_feed_is_atom(client, articles):
    response = client.get(reverse("blog:feed-atom"))
    assert response["Content-Type"].startswith("application/atom+xml")
    assert 'xmlns="http://www.w3.org/2005/Atom"' in response.content.decode()


def test_sitemap_lists_published_articles_only(client, articles):
    response = client.get(reverse("sitemap"))
    assert response.status_code == 200
    body = response.content.decode()
    assert articles["live"].get_absolute_url() in body
    assert articles["draft"].get_absolute_url() not in body
    assert articles["scheduled"].get_absolute_url() not in body


def test_pages_advertise_the_feeds(client, articles):
    html = client.get(reverse("blog:article-list")).content.decode()
    assert f'href="{reverse("blog:feed-atom")}"' in html
    assert 'type="application/rss+xml"' in html
