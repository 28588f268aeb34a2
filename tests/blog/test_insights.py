import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from blog.importing import import_article
from blog.models import Article, Audience, Insight, InsightQuerySet, KeyPoint
from tests.conftest import make_article, make_comment

pytestmark = pytest.mark.django_db


def make_grouped_article(title, group, audience="Analysts", insights=1, **fields):
    article = make_article(title, insights=insights, **fields)
    Insight.objects.filter(section__article=article).update(audience=audience, audience_group=group)
    return article


def test_demo_insights_are_grouped_by_their_audience_record(client, demo_article):
    response = client.get(reverse("blog:insight-list"))
    assert response.status_code == 200
    groups = {
        group.name: [i.audience for i in group.insights] for group in response.context["groups"]
    }
    assert groups == {
        "Civil society": ["Civic groups and analysts", "Civic leaders and scholars"],
        "Investors and business": ["Investors and business leaders"],
        "Policymakers": [
            "Policymakers and defense planners",
            "Policymakers",
            "Defense policymakers",
        ],
    }
    assert [group.name for group in response.context["groups"]] == sorted(groups)
    # The article keeps its own words for each audience; the group only gathers them.
    assertContains(
        response, '<strong class="insight__audience">Defense policymakers</strong>', html=False
    )


def test_each_insight_links_to_its_section_in_the_article(client, demo_article):
    html = client.get(reverse("blog:insight-list")).content.decode()
    for insight in Insight.objects.select_related("section__article"):
        assert insight.section.anchor
        assert f'href="{demo_article.get_absolute_url()}#{insight.section.anchor}"' in html
    assert html.count(">Read in context<") == 6
    assert demo_article.title in html


def test_group_headings_link_to_the_audience_page(client, demo_article):
    audience = Audience.objects.get(name="Policymakers")
    response = client.get(reverse("blog:insight-list"))
    assertContains(response, f'href="{audience.get_absolute_url()}"')


def test_insights_without_a_group_are_listed_under_their_own_words(client):
    make_grouped_article("Loose", None, audience="Parents and teachers")
    response = client.get(reverse("blog:insight-list"))
    [group] = response.context["groups"]
    assert group.name == "Parents and teachers" and group.audience is None


def test_only_insights_of_published_articles_are_listed(client):
    group = Audience.objects.create(name="Analysts")
    make_grouped_article("Live", group, audience="Live readers")
    make_grouped_article("Draft", group, audience="Draft readers", status=Article.Status.DRAFT)
    make_grouped_article(
        "Scheduled",
        group,
        audience="Future readers",
        published_at=timezone.now() + timedelta(days=1),
    )
    for url in [
        reverse("blog:insight-list"),
        group.get_absolute_url(),
        reverse("blog:audience-feed", kwargs={"slug": group.slug}),
    ]:
        response = client.get(url)
        assertContains(response, "Live readers")
        assertNotContains(response, "Draft readers")
        assertNotContains(response, "Future readers")


def test_perspective_counts_are_zero_without_comments(client, demo_article):
    response = client.get(reverse("blog:insight-list"))
    assert all(
        insight.perspective_count == 0
        for group in response.context["groups"]
        for insight in group.insights
    )
    assert response.content.decode().count("No perspectives yet") == 6


def test_perspective_counts_are_approved_comments_on_the_insight(client, article):
    """Pending comments and comments on the article at large do not count."""
    insight = Insight.objects.get(section__article=article)
    make_comment(article, insight=insight)
    make_comment(article, insight=insight, status="pending")
    make_comment(article)
    assert re.search(r"·\s+1 perspective\s", client.get(reverse("blog:insight-list")).text)
    make_comment(article, insight=insight)
    assert re.search(r"·\s+2 perspectives\s", client.get(reverse("blog:insight-list")).text)


def test_perspective_count_is_left_out_when_no_comment_relation_exists():
    """blog never imports comments: without the relation there is no count, and no error."""
    queryset = InsightQuerySet(model=KeyPoint).with_perspective_count()
    assert "perspective_count" not in queryset.query.annotations


def test_audience_page_lists_its_insights_and_advertises_its_feed(client, demo_article):
    audience = Audience.objects.get(name="Civil society")
    response = client.get(reverse("blog:audience-detail", kwargs={"slug": audience.slug}))
    assert response.status_code == 200
    [group] = response.context["groups"]
    assert [i.audience for i in group.insights] == [
        "Civic groups and analysts",
        "Civic leaders and scholars",
    ]
    feed_url = reverse("blog:audience-feed", kwargs={"slug": audience.slug})
    assertContains(
        response,
        f'<link rel="alternate" type="application/atom+xml" '
        f'title="Insights for Civil society (Atom)" href="{feed_url}">',
        html=True,
    )
    assertNotContains(response, "Policymakers and defense planners")


def test_unknown_audience_is_404(client, db):
    assert client.get(reverse("blog:audience-detail", kwargs={"slug": "nobody"})).status_code == 404
    assert client.get(reverse("blog:audience-feed", kwargs={"slug": "nobody"})).status_code == 404


def test_audience_feed_is_atom_with_one_entry_per_insight(client, demo_article):
    audience = Audience.objects.get(name="Policymakers")
    response = client.get(reverse("blog:audience-feed", kwargs={"slug": audience.slug}))
    assert response["Content-Type"].startswith("application/atom+xml")
    body = response.content.decode()
    assert "<title>Perspectives: insights for Policymakers</title>" in body
    assert body.count("<entry>") == 3
    for insight in audience.insights.all():
        # Each entry's link (and so its id) is the insight's own anchor, inside its section.
        assert f"{demo_article.get_absolute_url()}#insight-item-{insight.pk}" in body
        assert (
            f'id="insight-item-{insight.pk}"'
            in client.get(demo_article.get_absolute_url()).content.decode()
        )


def test_audience_feed_escapes_insight_text(client):
    group = Audience.objects.create(name="Analysts")
    article = make_grouped_article("Escapes", group)
    Insight.objects.filter(section__article=article).update(action="should read <b>this</b>.")
    body = client.get(reverse("blog:audience-feed", kwargs={"slug": group.slug})).content.decode()
    # Escaped once as HTML (the summary is HTML) and once more as XML.
    assert "&amp;lt;b&amp;gt;this" in body and "<b>this" not in body


@pytest.mark.parametrize("insights", [1, 10])
def test_insight_list_is_one_query_however_many_insights(
    client, django_assert_num_queries, insights
):
    group = Audience.objects.create(name="Analysts")
    make_grouped_article("One", group, insights=insights)
    make_grouped_article("Two", None, audience="Others", insights=insights)
    with django_assert_num_queries(1):
        response = client.get(reverse("blog:insight-list"))
    assert response.content.decode().count(">Read in context<") == 2 * insights


@pytest.mark.parametrize("insights", [1, 10])
def test_audience_page_query_count_does_not_grow_with_insights(
    client, django_assert_num_queries, insights
):
    group = Audience.objects.create(name="Analysts")
    make_grouped_article("One", group, insights=insights)
    # the audience, its insights
    with django_assert_num_queries(2):
        response = client.get(group.get_absolute_url())
    assert response.content.decode().count(">Read in context<") == insights


def test_site_navigation_links_to_the_insights(client, db):
    assertContains(
        client.get(reverse("blog:article-list")),
        f'<a href="{reverse("blog:insight-list")}">Insights</a>',
        html=True,
    )


def write_article(tmp_path, insight_lines):
    path = tmp_path / "article.md"
    lines = "\n".join(insight_lines)
    path.write_text(
        f"+++\ntitle = 'Groups'\n+++\nIntro.\n=== section: One\nText.\n::: insights\n{lines}\n:::\n",
        encoding="utf-8",
    )
    return path


def test_importer_groups_insights_by_existing_audience_name_ignoring_case(tmp_path):
    existing = Audience.objects.create(name="Policymakers")
    import_article(
        write_article(
            tmp_path,
            [
                "- policymakers :: should act.",
                "- Scholars :: should write.",
                "- Defense policymakers :: should plan. :: POLICYMAKERS",
            ],
        )
    )
    groups = list(
        Insight.objects.order_by("position").values_list("audience_group__name", flat=True)
    )
    assert groups == ["Policymakers", "Scholars", "Policymakers"]
    assert Audience.objects.count() == 2
    assert Audience.objects.get(name="Scholars").slug == "scholars"
    assert Insight.objects.filter(audience_group=existing).count() == 2


def test_reimport_keeps_groups_merged_by_staff(tmp_path):
    path = write_article(
        tmp_path, ["- Defense policymakers :: should plan.", "- Policymakers :: should act."]
    )
    import_article(path)
    Audience.objects.order_by("-name").merge()  # Policymakers is kept: it comes first here
    import_article(path)
    assert list(Audience.objects.values_list("name", flat=True)) == ["Policymakers"]
    assert Insight.objects.filter(audience_group__name="Policymakers").count() == 2


def test_merging_audiences_in_the_admin_moves_their_insights(admin_client, demo_article):
    civil = Audience.objects.get(name="Civil society")
    investors = Audience.objects.get(name="Investors and business")
    response = admin_client.post(
        reverse("admin:blog_audience_changelist"),
        {"action": "merge_audiences", "_selected_action": [civil.pk, investors.pk]},
        follow=True,
    )
    assertContains(response, "Merged 1 audience into “Civil society”.")
    assert not Audience.objects.filter(pk=investors.pk).exists()
    assert civil.insights.count() == 3


def test_admin_pages_for_audiences_and_insights_load(admin_client, demo_article):
    assertContains(admin_client.get(reverse("admin:blog_audience_changelist")), "Policymakers")
    change = admin_client.get(reverse("admin:blog_article_change", args=[demo_article.pk]))
    assertContains(change, "audience_group")
    found = admin_client.get(
        reverse("admin:autocomplete"),
        {
            "term": "civil",
            "app_label": "blog",
            "model_name": "insight",
            "field_name": "audience_group",
        },
    )
    assert [r["text"] for r in found.json()["results"]] == ["Civil society"]


def test_audience_names_are_unique_ignoring_case(db):
    from django.core.exceptions import ValidationError

    Audience.objects.create(name="Policymakers")
    with pytest.raises(ValidationError, match="An audience with this name already exists"):
        Audience(name="POLICYMAKERS", slug="other").full_clean()
    assert Audience.objects.find_or_create("policymakers ").name == "Policymakers"
