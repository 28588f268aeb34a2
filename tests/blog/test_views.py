from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from blog.models import Article, Tag
from tests.conftest import make_article

pytestmark = pytest.mark.django_db


def test_index_lists_published_articles_newest_first(client):
    older = make_article("Older", published_at=timezone.now() - timedelta(days=3))
    newer = make_article("Newer", published_at=timezone.now() - timedelta(days=1))
    make_article("Draft", status=Article.Status.DRAFT)
    make_article("Scheduled", published_at=timezone.now() + timedelta(days=1))
    response = client.get(reverse("blog:article-list"))
    assert list(response.context["articles"]) == [newer, older]
    html = response.content.decode()
    assert "Draft" not in html and "Scheduled" not in html
    assert "1 min read" in html


def test_index_is_paginated(client, settings):
    settings.BLOG_ARTICLES_PER_PAGE = 2
    for number in range(5):
        make_article(f"Article {number}", published_at=timezone.now() - timedelta(hours=number))
    first = client.get(reverse("blog:article-list"))
    assert [a.title for a in first.context["articles"]] == ["Article 0", "Article 1"]
    assert 'href="?page=2"' in first.content.decode()
    last = client.get(reverse("blog:article-list"), {"page": 3})
    assert [a.title for a in last.context["articles"]] == ["Article 4"]
    assert client.get(reverse("blog:article-list"), {"page": 9}).status_code == 404


@pytest.mark.parametrize(
    "fields",
    [
        {"status": Article.Status.DRAFT},
        {"published_at": timezone.now() + timedelta(days=2)},
    ],
    ids=["draft", "scheduled"],
)
def test_unpublished_articles_are_404_for_readers_and_previewable_by_staff(
    client, admin_client, django_user_model, fields
):
    article = make_article("Hidden", **fields)
    url = article.get_absolute_url()
    assert client.get(url).status_code == 404
    client.force_login(django_user_model.objects.create_user("reader", password="pw"))
    assert client.get(url).status_code == 404
    preview = admin_client.get(url)
    assert preview.status_code == 200
    assert "Preview: readers cannot see this article yet" in preview.content.decode()
    assert "no-store" in preview["Cache-Control"]


def test_scheduled_article_appears_when_its_time_comes(client):
    article = make_article("Soon", published_at=timezone.now() + timedelta(minutes=5))
    assert client.get(article.get_absolute_url()).status_code == 404
    Article.objects.filter(pk=article.pk).update(published_at=timezone.now())
    assert client.get(article.get_absolute_url()).status_code == 200


def test_tag_page_lists_only_published_articles_with_the_tag(client):
    tag = Tag.objects.create(name="NATO", slug="nato")
    tagged = make_article("Tagged")
    tagged.tags.add(tag)
    make_article("Untagged")
    draft = make_article("Draft tagged", status=Article.Status.DRAFT)
    draft.tags.add(tag)
    response = client.get(tag.get_absolute_url())
    assert list(response.context["articles"]) == [tagged]
    assert client.get(reverse("blog:tag-detail", kwargs={"slug": "nope"})).status_code == 404


def test_404_page_uses_the_site_design(client):
    response = client.get("/articles/does-not-exist/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html and "css/site.css" in html


def test_500_page_uses_the_site_design():
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "Something went wrong" in html and "css/site.css" in html


@pytest.mark.parametrize("sections", [1, 12])
def test_article_page_query_count_does_not_grow_with_sections(
    client, django_assert_num_queries, sections
):
    article = make_article(sections=sections, insights=3)
    article.tags.add(Tag.objects.create(name="T", slug="t"))
    # article, tags, sections, insights, key points, comment count (JSON-LD), the thread's
    # shape, the moderation summary's setting
    with django_assert_num_queries(8):
        response = client.get(article.get_absolute_url())
    assert response.status_code == 200


@pytest.mark.parametrize("articles", [1, 15])
def test_index_query_count_does_not_grow_with_articles(client, django_assert_num_queries, articles):
    tag = Tag.objects.create(name="T", slug="t")
    for number in range(articles):
        make_article(f"A{number}").tags.add(tag)
    # count for the paginator, the page of articles, their tags
    with django_assert_num_queries(3):
        response = client.get(reverse("blog:article-list"))
    assert response.status_code == 200
