import re
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from blog.models import HIGHLIGHT_START, HIGHLIGHT_STOP, Article, Insight, Section
from blog.views import highlighted
from tests.conftest import make_article

pytestmark = pytest.mark.django_db

SEARCH = reverse("blog:search")


def indexed(title, body="Ordinary words.", action="should act.", **fields):
    """Create an article with one section and insight, indexed for search as the admin does."""
    article = make_article(title, insights=0, **fields)
    section = Section.objects.create(article=article, heading="A heading", body=body)
    Insight.objects.create(section=section, audience="Analysts", action=action)
    article.refresh_search_index()
    return article


def found(client, query, **params):
    response = client.get(SEARCH, {"q": query, **params})
    assert response.status_code == 200
    return [article.title for article in response.context["results"]]


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("submarines", {"title": "Submarines in the Pacific"}),
        ("procurement", {"body": "Joint procurement of radar systems."}),
        ("transparency", {"action": "must ensure budget transparency."}),
    ],
    ids=["title", "section text", "insight text"],
)
def test_finds_articles_by_title_section_text_and_insight_text(client, query, fields):
    indexed(**{"title": "The article", **fields})
    indexed("Something else entirely")
    assert found(client, query) == [fields.get("title", "The article")]


def test_every_word_of_the_query_must_match(client):
    indexed("Naval budgets", body="Shipyards and sailors.")
    indexed("Naval history")
    assert found(client, "naval shipyards") == ["Naval budgets"]


def test_a_title_match_ranks_above_a_body_match(client):
    """The newer article mentions the word only in its text, so rank alone orders them."""
    indexed("Cybersecurity budgets", published_at=timezone.now() - timedelta(days=30))
    indexed("Defence spending", body="A paragraph on cybersecurity.")
    assert found(client, "cybersecurity") == ["Cybersecurity budgets", "Defence spending"]


def test_search_index_follows_the_backend(client):
    article = indexed("Policies for allies", body="The alliance reviews its policies.")
    article.refresh_from_db()
    assert "The alliance reviews its policies." in article.search_document
    if connection.vendor == "postgresql":
        # A weighted vector with English stemming: "policy" finds "policies".
        assert article.search_vector
        assert found(client, "policy") == ["Policies for allies"]
        assert found(client, '"alliance reviews" -budget') == ["Policies for allies"]
    else:
        # The plain fallback: no vector, and words are matched as written.
        assert article.search_vector is None
        assert found(client, "polic") == ["Policies for allies"]


def test_drafts_and_scheduled_articles_are_never_found(client, admin_client):
    indexed("Zeppelin live")
    indexed("Zeppelin draft", status=Article.Status.DRAFT)
    indexed("Zeppelin scheduled", published_at=timezone.now() + timedelta(days=1))
    assert found(client, "zeppelin") == ["Zeppelin live"]
    assert found(admin_client, "zeppelin") == ["Zeppelin live"]


def test_results_show_highlighted_snippets(client):
    indexed("Harbour", body="Nothing here. The frigate sailed at dawn. Nothing more.")
    response = client.get(SEARCH, {"q": "frigate"})
    assertContains(response, "<mark>frigate</mark>", html=False)


def test_snippets_are_escaped_except_for_the_highlight(client):
    indexed("Hostile", action="should <script>alert(1)</script> catapult <b>now</b>.")
    response = client.get(SEARCH, {"q": "catapult"})
    html = response.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html and "<b>now" not in html
    assert "<mark>catapult</mark>" in html


def test_highlighting_escapes_text_and_drops_stray_markers():
    text = f"a <b> {HIGHLIGHT_START}x & y{HIGHLIGHT_STOP} {HIGHLIGHT_STOP}{HIGHLIGHT_START}z"
    assert highlighted(text) == "a &lt;b&gt; <mark>x &amp; y</mark> z"


def test_null_characters_are_refused_without_touching_the_database(
    client, django_assert_num_queries
):
    """config.middleware.RefuseNullCharactersMiddleware answers before the search view runs."""
    with django_assert_num_queries(0):
        response = client.get(SEARCH, {"q": "budget\x00; DROP TABLE"})
    assertContains(response, "Null characters are not allowed.", status_code=400)


def test_control_characters_are_refused(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(SEARCH, {"q": "budget\x1b[31m"})
    assertContains(response, "Control characters are not allowed.")


def test_a_thousand_character_query_is_cut_to_two_hundred(client):
    indexed("Budget")
    response = client.get(SEARCH, {"q": "budget " + "x" * 993})
    assert response.status_code == 200
    assert len(response.context["query"]) == 200
    assertContains(response, "only its first 200 were used")
    assertContains(response, "No articles found")


def test_a_query_of_punctuation_finds_nothing(client):
    indexed("Budget")
    assert found(client, "!!! :: && ||") == []


def test_empty_query_shows_only_the_form(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(SEARCH, {"q": "   "})
    assertContains(response, 'role="search"')
    assertContains(response, '<label for="search-q">', html=False)
    assertNotContains(response, "found")


def test_the_query_is_kept_in_the_form_and_escaped(client):
    response = client.get(SEARCH, {"q": '"><script>x</script>'})
    assertContains(response, 'value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"', html=False)


def test_results_are_paginated_by_ten(client):
    for number in range(12):
        indexed(f"Budget {number}", published_at=timezone.now() - timedelta(hours=number))
    first = client.get(SEARCH, {"q": "budget"})
    assert len(first.context["results"]) == 10
    assertContains(first, "12 articles found")
    assertContains(first, 'href="?q=budget&amp;page=2"')
    second = client.get(SEARCH, {"q": "budget", "page": 2})
    assert [a.title for a in second.context["results"]] == ["Budget 10", "Budget 11"]


@pytest.mark.parametrize("articles", [1, 15])
def test_query_count_does_not_grow_with_results(client, django_assert_num_queries, articles):
    for number in range(articles):
        indexed(f"Budget {number}")
    # the count for the paginator, the page of results with their snippets
    with django_assert_num_queries(2):
        response = client.get(SEARCH, {"q": "budget"})
    assert len(response.context["results"]) == min(articles, 10)


def test_the_demo_import_indexes_the_article(client, demo_article):
    assert found(client, "cyber maritime") == [demo_article.title]
    snippet = str(client.get(SEARCH, {"q": "maritime"}).context["results"][0].snippet)
    assert re.search(r"<mark>maritime</mark>", snippet, re.I)


def test_saving_in_the_admin_reindexes_the_article(admin_client):
    article = indexed("Before")
    data = {
        "kicker": "",
        "title": "Albatross",
        "slug": article.slug,
        "headline": "",
        "introduction": "",
        "status": "published",
        "published_at_0": "2025-01-01",
        "published_at_1": "09:00:00",
        "author": "",
        "discussion": "open",
        "comments_close_at_0": "",
        "comments_close_at_1": "",
        "sections-TOTAL_FORMS": "0",
        "sections-INITIAL_FORMS": "0",
    }
    response = admin_client.post(reverse("admin:blog_article_change", args=[article.pk]), data)
    if response.status_code != 302:
        pytest.fail(str(response.context["adminform"].form.errors))
    assert found(admin_client, "albatross") == ["Albatross"]
