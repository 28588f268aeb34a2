import re
from html import unescape

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from blog.importing import ArticleFormatError, import_article, parse_article
from blog.management.commands.load_demo import DEMO_ARTICLE
from blog.models import Article, Insight, KeyPoint, Section
from tests.conftest import DATA

pytestmark = pytest.mark.django_db


def seed_lines():
    """Every non-empty line of the original seed page, bullets and indentation removed."""
    text = (DATA / "seed_article.txt").read_text(encoding="utf-8")
    return [line.strip().lstrip("•").strip() for line in text.splitlines() if line.strip()]


def page_text(html):
    """The visible text of a page, tags removed and whitespace folded."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def test_demo_article_page_shows_every_part_of_the_seed_in_order(client, demo_article):
    """Every heading, paragraph, insight, key-axis bullet and caption, word for word, in order."""
    response = client.get(reverse("blog:article-detail", kwargs={"slug": demo_article.slug}))
    assert response.status_code == 200
    text = page_text(response.content.decode())
    lines = seed_lines()
    # The body starts at the introduction, after the table of contents that repeats headings.
    body = text[text.index(lines[3]) :]
    # The page's own defect ("Showing 0 Comment") and the closed-comments line are not content.
    content = [line for line in lines[:-2] if line != "Actionable Insight:"]
    position = 0
    for line in content[3:]:
        found = body.find(line, position)
        assert found >= 0, f"missing or out of order: {line[:70]!r}"
        position = found + len(line)
    for line in content[:3]:
        assert line in text


def test_demo_article_structure(demo_article):
    main = [s for s in demo_article.sections.all() if s.is_main]
    assert len(main) == 4
    assert Insight.objects.filter(section__article=demo_article).count() == 6
    assert KeyPoint.objects.filter(section__article=demo_article).count() == 3
    captions = [s.figure_caption for s in demo_article.sections.all() if s.figure_image]
    assert captions == [
        "Japan and NATO Defense Work",
        "Budget Discussion",
        "Future Defense Outlook",
    ]
    audiences = list(
        Insight.objects.filter(section__article=demo_article)
        .order_by("section__position", "position")
        .values_list("audience", flat=True)
    )
    assert audiences == [
        "Policymakers and defense planners",
        "Civic groups and analysts",
        "Investors and business leaders",
        "Policymakers",
        "Defense policymakers",
        "Civic leaders and scholars",
    ]


def test_page_has_semantic_structure(client, demo_article):
    html = client.get(demo_article.get_absolute_url()).content.decode()
    assert html.count("<aside") == 3
    assert html.count(">Actionable Insight</h3>") == 3
    assert html.count("<figure") == 3 and html.count("<figcaption>") == 3
    for section in demo_article.sections.exclude(anchor=""):
        assert f'href="#{section.anchor}"' in html
        assert f'id="{section.anchor}"' in html


def test_reimport_updates_in_place_and_never_duplicates(demo_article):
    ids = sorted(Insight.objects.values_list("pk", flat=True))
    Article.objects.filter(pk=demo_article.pk).update(title="Changed by hand")
    article, created = import_article(DEMO_ARTICLE)
    assert not created
    assert article.pk == demo_article.pk
    assert Article.objects.count() == 1
    assert Section.objects.count() == 8
    assert sorted(Insight.objects.values_list("pk", flat=True)) == ids
    assert Article.objects.get().title.startswith("Navigating New Waters")


def test_reimport_removes_sections_that_left_the_file(tmp_path, demo_article):
    source = DEMO_ARTICLE.read_text(encoding="utf-8")
    shorter = source[: source.index("=== discussion")]
    path = tmp_path / "shorter.md"
    path.write_text(shorter, encoding="utf-8")
    (tmp_path / "images").symlink_to(DEMO_ARTICLE.parent / "images")
    import_article(path)
    assert Section.objects.count() == 6


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("title = 'x'\n", 1, "must start with '+++'"),
        ("+++\ntitle = 'x'\n", 1, "never closed"),
        ("+++\ntitle = 'x'\nslug = \nkicker = 'k'\n+++\n", 3, "not valid TOML"),
        ("+++\ntitle = 'x'\ncolour = 'red'\n+++\n", 2, "unknown front matter keys: colour"),
        ("+++\n+++\nIntro\n", 2, "needs a title"),
        ("+++\ntitle = 'x'\n+++\nIntro\n=== chapter: One\n", 5, "unknown section kind"),
        ("+++\ntitle = 'x'\n+++\n::: insights\n", 4, "inside a section"),
        (
            "+++\ntitle = 'x'\n+++\n=== section: A\n::: insights\n- no separator\n:::\n",
            6,
            "- audience :: action",
        ),
        ("+++\ntitle = 'x'\n+++\n=== section: A\n::: insights\n- a :: b\n", 6, "never closed"),
        (
            "+++\ntitle = 'x'\n+++\n=== section: A\n::: figure top\ncaption: c\n:::\n",
            4,
            "image and alt",
        ),
        ("+++\ntitle = 'x'\n+++\n=== section: A\n::: figure left\n:::\n", 5, "'top' or 'bottom'"),
        ("+++\ntitle = 'x'\n+++\n=== section: A\n::: figure\nsize: 3\n:::\n", 6, "figure lines"),
    ],
)
def test_malformed_files_name_the_line(text, line, message):
    with pytest.raises(ArticleFormatError) as error:
        parse_article(text)
    assert error.value.line == line
    assert message in str(error.value)


def test_command_reports_errors_with_the_file_and_line(tmp_path):
    path = tmp_path / "bad.md"
    path.write_text("+++\ntitle = 'x'\n+++\n=== chapter: One\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"bad\.md, line 4: unknown section kind"):
        call_command("import_article", str(path))
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_article", str(tmp_path / "missing.md"))


def test_command_imports_and_reimports(capsys):
    call_command("import_article", str(DEMO_ARTICLE))
    call_command("import_article", str(DEMO_ARTICLE))
    out = capsys.readouterr().out
    assert "Created" in out and "Updated" in out
    assert Article.objects.count() == 1


def test_load_demo_is_idempotent_and_creates_a_staff_login(django_user_model):
    call_command("load_demo", "--password", "pw-demo-123")
    call_command("load_demo", "--password", "pw-demo-123")
    user = django_user_model.objects.get(username="editor")
    assert user.is_staff and user.check_password("pw-demo-123")
    assert Article.objects.get().author == user
