from datetime import UTC, datetime

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe

from blog.models import Insight
from comments.forms import CommentForm
from comments.thread_html import WidgetRenderer
from comments.views import SESSION_KEY
from tests.conftest import comment_form_data, make_article, make_comment

pytestmark = pytest.mark.django_db


def thread_of(html):
    start = html.index('<ol class="comments__list">')
    return html[start : html.index("</ol>\n", start) + len("</ol>")]


def test_thread_markup_is_exactly_this(client, settings):
    """The whole markup of a thread: authors and their links, local times, "On:" lines, the
    notice on the reader's own pending comment, nesting, and Reply links that keep the page
    and stop at the depth limit. comments/thread_html.py builds it by hand, so pin it."""
    settings.TIME_ZONE = "Europe/Paris"
    settings.COMMENTS_PER_PAGE = 1
    settings.COMMENTS_MAX_DEPTH = 3
    article = make_article(slug="pinned")
    insight = Insight.objects.get()
    insight.audience, insight.action = (
        "Planners & <staff>",
        "should weigh one two three four five six seven eight nine ten words.",
    )
    insight.save()
    at = datetime(2024, 3, 5, 8, 7, tzinfo=UTC)
    make_comment(article, "On page one.", created_at=at)
    root = make_comment(
        article,
        "Root *text*.",
        author_name='Ken <b>"K"</b>',
        author_url="https://ken.example.org/?a=1&b='2'",
        insight=insight,
        created_at=at.replace(day=6),
    )
    reply = make_comment(
        article,
        "A reply.",
        parent=root,
        author_url="javascript:alert(1)",
        created_at=at.replace(day=7, hour=23, minute=30),
    )
    deepest = make_comment(
        article, "Too deep to answer.", parent=reply, created_at=at.replace(day=8)
    )
    own = make_comment(
        article, "Mine, waiting.", parent=root, status="pending", created_at=at.replace(day=9)
    )
    make_comment(article, "Not mine.", parent=root, status="pending", created_at=at.replace(day=9))
    session = client.session
    session[SESSION_KEY] = [own.pk]
    session.save()

    html = client.get(article.get_absolute_url(), {"cpage": 2}).content.decode()

    href = f"{article.get_absolute_url()}?cpage=2&amp;replyto="
    assert thread_of(html) == (
        '<ol class="comments__list">'
        '<li class="comments__item">'
        f'<article id="comment-{root.pk}" class="comment">'
        '<header class="comment__meta">'
        '<span class="comment__author"><a href="https://ken.example.org/?a=1&amp;b=&#x27;2&#x27;"'
        ' rel="nofollow ugc noopener"><bdi>Ken &lt;b&gt;&quot;K&quot;&lt;/b&gt;</bdi></a></span> '
        f'<a class="comment__permalink" href="#comment-{root.pk}">'
        '<time datetime="2024-03-06T09:07:00+01:00">6 March 2024, 09:07</time></a>'
        "</header>"
        '<p class="comment__insight">On: <em>Planners &amp; &lt;staff&gt; should weigh one two'
        " three four five six seven…</em></p>"
        '<div class="comment__text" dir="auto"><p>Root <em>text</em>.</p></div>'
        f'<a class="comment__reply" href="{href}{root.pk}#comment-form"'
        ' aria-label="Reply to Ken &lt;b&gt;&quot;K&quot;&lt;/b&gt;">Reply</a>'
        "</article>"
        '<ol class="comments__replies">'
        '<li class="comments__item">'
        f'<article id="comment-{reply.pk}" class="comment">'
        '<header class="comment__meta">'
        '<span class="comment__author"><bdi>Reader</bdi></span> '
        f'<a class="comment__permalink" href="#comment-{reply.pk}">'
        '<time datetime="2024-03-08T00:30:00+01:00">8 March 2024, 00:30</time></a>'
        "</header>"
        '<div class="comment__text" dir="auto"><p>A reply.</p></div>'
        f'<a class="comment__reply" href="{href}{reply.pk}#comment-form"'
        ' aria-label="Reply to Reader">Reply</a>'
        "</article>"
        '<ol class="comments__replies">'
        '<li class="comments__item">'
        f'<article id="comment-{deepest.pk}" class="comment">'
        '<header class="comment__meta">'
        '<span class="comment__author"><bdi>Reader</bdi></span> '
        f'<a class="comment__permalink" href="#comment-{deepest.pk}">'
        '<time datetime="2024-03-08T09:07:00+01:00">8 March 2024, 09:07</time></a>'
        "</header>"
        '<div class="comment__text" dir="auto"><p>Too deep to answer.</p></div>'
        "</article>"
        "</li>"
        "</ol></li>"
        '<li class="comments__item">'
        f'<article id="comment-{own.pk}" class="comment comment--awaiting">'
        '<header class="comment__meta">'
        '<span class="comment__author"><bdi>Reader</bdi></span> '
        f'<a class="comment__permalink" href="#comment-{own.pk}">'
        '<time datetime="2024-03-09T09:07:00+01:00">9 March 2024, 09:07</time></a>'
        "</header>"
        '<p class="comment__notice">Your comment is awaiting moderation.</p>'
        '<div class="comment__text" dir="auto"><p>Mine, waiting.</p></div>'
        "</article>"
        "</li>"
        "</ol></li>"
        "</ol>"
    )


def test_closed_thread_has_no_reply_links(client):
    article = make_article(discussion="closed")
    make_comment(article, "Still shown.")
    html = client.get(article.get_absolute_url()).content.decode()
    assert "Still shown." in thread_of(html)
    assert "comment__reply" not in html


class EveryInput(forms.Form):
    text = forms.CharField(
        initial="a \"quoted\" <tag> & 'apostrophe'",
        widget=forms.TextInput(
            attrs={"data-on": True, "data-off": False, "data-none": None, "title": mark_safe("<b>")}
        ),
    )
    number = forms.IntegerField(initial=5, help_text="A number.")
    secret = forms.CharField(widget=forms.PasswordInput(render_value=True), initial="pw<")
    flag = forms.BooleanField(initial=True)
    hidden = forms.CharField(widget=forms.HiddenInput, initial=mark_safe("&amp;"))
    notes = forms.CharField(widget=forms.Textarea, initial="line <one>\nline two")
    empty = forms.CharField(widget=forms.Textarea, required=False)
    choice = forms.ChoiceField(choices=[("a", "<A>")])


def markup(form):
    return {name: str(form[name]) for name in form.fields}


@pytest.mark.parametrize("data", [None, {}, {"text": "<x>", "number": "x", "flag": "on"}])
def test_widget_renderer_writes_what_django_widget_templates_write(data):
    """WidgetRenderer writes inputs by hand; for every kind of input, with values that need
    escaping, safe ones, attributes that are True, False or None, and errors, its markup is
    that of Django's own templates."""
    ours, django = EveryInput(data, renderer=WidgetRenderer()), EveryInput(data)
    assert isinstance(django.renderer, DjangoTemplates)
    assert markup(ours) == markup(django)


@pytest.mark.parametrize("bound", [False, True])
def test_the_comment_form_is_written_as_django_writes_it(article, bound):
    data = comment_form_data(article, body="<p>Hi & bye</p>", author_url="x") if bound else None
    initial = {"author_name": 'Ken "K" <b>', "parent": 3, "insight": 4}
    ours = CommentForm(data, article=article, initial=initial, renderer=WidgetRenderer())
    django = CommentForm(data, article=article, initial=initial)
    # Signed afresh for each form: the same value for both, to compare the rest.
    ours.fields["timestamp"].initial = django.fields["timestamp"].initial = "signed"
    if bound:
        assert not ours.is_valid() and not django.is_valid()
    assert markup(ours) == markup(django)
