import json
import re
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from blog.models import Tag
from blog.structured_data import json_ld_script_text
from tests.conftest import make_article

pytestmark = pytest.mark.django_db


class HeadParser(HTMLParser):
    """Collect the page's <meta> and <link> tags and the text of its JSON-LD scripts."""

    def __init__(self):
        super().__init__()
        self.meta, self.links, self.json_ld = {}, [], []
        self._in_json_ld = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta" and "content" in attrs:
            self.meta.setdefault(attrs.get("property") or attrs.get("name"), []).append(
                attrs["content"]
            )
        elif tag == "link":
            self.links.append(attrs)
        elif tag == "script":
            self._in_json_ld = attrs.get("type") == "application/ld+json"
            if self._in_json_ld:
                self.json_ld.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_json_ld = False

    def handle_data(self, data):
        if self._in_json_ld:
            self.json_ld[-1] += data


def parse(response):
    assert response.status_code == 200
    parser = HeadParser()
    parser.feed(response.content.decode())
    return parser


def test_article_page_has_canonical_and_open_graph_tags(client, demo_article):
    page = parse(client.get(demo_article.get_absolute_url()))
    url = f"http://testserver{demo_article.get_absolute_url()}"
    assert [link["href"] for link in page.links if link.get("rel") == "canonical"] == [url]
    meta = {name: values[0] for name, values in page.meta.items()}
    assert meta["og:type"] == "article"
    assert meta["og:title"] == demo_article.title
    assert meta["og:description"] == demo_article.excerpt
    assert meta["og:url"] == url
    assert meta["og:site_name"] == "Perspectives"
    assert re.fullmatch(
        r"http://testserver/media/figures/imported/japan-nato-.+\.png", meta["og:image"]
    )
    assert meta["og:image:alt"]
    assert meta["article:published_time"] == demo_article.published_at.isoformat()
    assert meta["twitter:card"] == "summary_large_image"
    assert sorted(page.meta["article:tag"]) == sorted(t.name for t in demo_article.tags.all())


def test_article_without_a_picture_has_a_small_card_and_no_image(client, article):
    page = parse(client.get(article.get_absolute_url()))
    assert page.meta["twitter:card"] == ["summary"]
    assert "og:image" not in page.meta
    assert "image" not in json.loads(page.json_ld[0])


def test_json_ld_describes_the_article(client, django_user_model):
    author = django_user_model.objects.create_user("writer", first_name="Ada", last_name="Analyst")
    article = make_article("Budgets and alliances", headline="What the numbers say", author=author)
    article.tags.add(Tag.objects.create(name="NATO", slug="nato"))
    article.refresh_word_count()
    [text] = parse(client.get(article.get_absolute_url())).json_ld
    data = json.loads(text)
    url = f"http://testserver{article.get_absolute_url()}"
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "Article"
    assert data["headline"] == "Budgets and alliances"
    assert data["alternativeHeadline"] == "What the numbers say"
    assert data["datePublished"] == article.published_at.isoformat()
    assert data["dateModified"] == article.updated_at.isoformat()
    assert data["author"] == {"@type": "Person", "name": "Ada Analyst"}
    assert data["mainEntityOfPage"] == {"@type": "WebPage", "@id": url}
    assert data["keywords"] == ["NATO"]
    assert data["wordCount"] == article.word_count > 0
    assert data["commentCount"] == 0


def test_json_ld_of_the_demo_article_names_its_image(client, demo_article):
    data = json.loads(parse(client.get(demo_article.get_absolute_url())).json_ld[0])
    assert data["image"].startswith("http://testserver/media/figures/")
    assert data["author"] == {"@type": "Organization", "name": "Perspectives"}


def test_a_hostile_title_cannot_break_out_of_the_script_element(client):
    title = "</script><script>alert(1)</script> & <!-- more"
    article = make_article(title)
    html = client.get(article.get_absolute_url()).content.decode()
    assert "<script>alert(1)" not in html
    assert "<!-- more" not in html
    [text] = parse(client.get(article.get_absolute_url())).json_ld
    assert "</" not in text and "<" not in text
    assert json.loads(text)["headline"] == title


def test_json_ld_text_escapes_what_could_end_a_script_element():
    text = json_ld_script_text({"a": "</script><!--&\u2028"})
    assert str(text) == '{"a":"\\u003C/script\\u003E\\u003C!--\\u0026\\u2028"}'
    assert json.loads(text) == {"a": "</script><!--&\u2028"}


def test_meta_tags_add_no_queries(client, settings):
    """Picture, tags and author come from what the page loads anyway."""
    settings.ARTICLE_PAGE_CACHE_SECONDS = 0
    article = make_article(author=None)
    article.tags.add(Tag.objects.create(name="T", slug="t"))
    with CaptureQueriesContext(connection) as queries:
        client.get(article.get_absolute_url())
    # article and author, tags, sections, insights, key points, the JSON-LD comment count, and
    # the comment thread's two
    assert len(queries) == 8
