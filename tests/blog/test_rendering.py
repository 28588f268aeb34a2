import pytest

from blog.models import Section
from blog.rendering import render_comment, render_markdown
from tests.conftest import make_article


@pytest.mark.parametrize(
    ("markdown", "forbidden"),
    [
        ("<script>alert(1)</script>", "<script"),
        ("[click](javascript:alert(1))", "javascript:"),
        ("[click](JaVaScRiPt&#58;alert(1))", "alert"),
        ('<img src="x" onerror="alert(1)">', "onerror"),
        ('<a href="#" onclick="alert(1)">x</a>', "onclick"),
        ("<iframe src='https://example.com'></iframe>", "<iframe"),
        ("<style>body{display:none}</style>", "<style"),
        ('<div style="position:fixed">x</div>', "style="),
        ("![x](data:text/html;base64,PHNjcmlwdD4=)", "data:"),
    ],
)
@pytest.mark.parametrize("render", [render_markdown, render_comment])
def test_hostile_markup_stays_inert(render, markdown, forbidden):
    assert forbidden.lower() not in render(markdown).lower()


def test_article_markdown_keeps_structure():
    html = render_markdown("### Sub-heading\n\nSome *emphasis* and [a link](https://example.com).")
    assert '<h3 id="sub-heading">Sub-heading</h3>' in html
    assert "<em>emphasis</em>" in html
    assert '<a href="https://example.com">a link</a>' in html


def test_comments_allow_no_headings_or_images_and_mark_links():
    html = render_comment("# Big\n\n![pic](https://example.com/a.png) see https://example.com")
    assert "<h1" not in html and "<img" not in html
    assert 'rel="nofollow ugc noopener noreferrer"' in html


def test_rendering_is_idempotent():
    html = render_markdown("Text with <b>bold</b> and <script>x</script> [l](https://e.com)")
    assert render_markdown(html) == html


@pytest.mark.django_db
def test_stored_html_is_rendered_and_sanitised_at_save():
    article = make_article(sections=0)
    section = Section.objects.create(
        article=article, heading="H", body="**Bold** <script>alert(1)</script>"
    )
    section.refresh_from_db()
    assert "<strong>Bold</strong>" in section.body_html
    assert "<script" not in section.body_html
    article.introduction = "<img src=x onerror=alert(1)>"
    article.save()
    article.refresh_from_db()
    assert "onerror" not in article.introduction_html


def test_markdownx_preview_uses_the_same_renderer(settings):
    assert settings.MARKDOWNX_MARKDOWNIFY_FUNCTION == "blog.rendering.render_markdown"
