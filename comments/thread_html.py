"""The markup of a comment thread, and of its form's inputs, built in Python.

An article page can show hundreds of comments. Rendering each through an included Django
template costs about 90 µs a comment, which made a 200-comment page take 20 ms; string
building with escaping done here costs a few µs a comment. The markup below is the whole of a
comment's HTML: change it here (and its test in tests/comments/test_thread_html.py).
"""

from html import escape

from django.forms.renderers import DjangoTemplates
from django.utils.dates import MONTHS
from django.utils.safestring import SafeData
from django.utils.timezone import get_current_timezone

from .models import Comment

AWAITING_NOTICE = '<p class="comment__notice">Your comment is awaiting moderation.</p>'


class ThreadComment:
    """A comment as the thread shows it, read as a row of exactly the columns it needs.

    Building a Comment instance costs more than writing the comment's markup; a row of
    ``COLUMNS`` (in this order, from ``values_list``) costs a fraction of it.
    """

    # Each attribute and the column it is read from.
    FIELDS = {
        "pk": "id",
        "parent_id": "parent_id",
        "depth": "depth",
        "status": "status",
        "created_at": "created_at",
        "author_name": "author_name",
        "author_url": "author_url",
        "body_html": "body_html",
        "insight_id": "insight_id",
        "insight_audience": "insight__audience",
        "insight_action": "insight__action",
    }
    COLUMNS = tuple(FIELDS.values())
    __slots__ = (*FIELDS, "children")

    def __init__(self, *row):
        for name, value in zip(self.FIELDS, row, strict=True):
            setattr(self, name, value)
        self.children = []

    @property
    def is_approved(self):
        return self.status == Comment.Status.APPROVED


def render_thread(roots, *, insight_titles, reply_url=None, reply_depth_limit=0):
    """Return the <li> items of these comments and their replies, as safe HTML.

    insight_titles maps insight ids to the text shown as "On: …". When reply_url is given, each
    approved comment shallower than reply_depth_limit gets a Reply link to reply_url followed
    by its id.
    """
    parts = []
    # Django's date filter and localtime() cost more than the rest of a comment's markup;
    # "j F Y, H:i" by hand, in the zone looked up once.
    months = [""] + [str(MONTHS[number]) for number in range(1, 13)]
    zone = get_current_timezone()
    reply_url = None if reply_url is None else escape(reply_url)
    stack = [(comment, False) for comment in reversed(roots)]
    while stack:
        comment, closing = stack.pop()
        if closing:
            parts.append("</ol></li>" if comment.children else "</li>")
            continue
        can_reply = reply_url is not None and comment.depth < reply_depth_limit
        parts.append(
            _comment_html(comment, zone, months, insight_titles, reply_url if can_reply else None)
        )
        stack.append((comment, True))
        if comment.children:
            parts.append('<ol class="comments__replies">')
            stack.extend((child, False) for child in reversed(comment.children))
    return "".join(parts)


def _comment_html(comment, zone, months, insight_titles, reply_url):
    pk = comment.pk
    name = escape(comment.author_name)
    author = f"<bdi>{name}</bdi>"
    # The form accepts only http(s) addresses; rows written any other way get no link either.
    if comment.author_url.lower().startswith(("https://", "http://")):
        author = f'<a href="{escape(comment.author_url)}" rel="nofollow ugc noopener">{author}</a>'
    created = comment.created_at.astimezone(zone)
    approved = comment.is_approved
    html = [
        '<li class="comments__item">',
        f'<article id="comment-{pk}" class="comment{"" if approved else " comment--awaiting"}">',
        '<header class="comment__meta">',
        f'<span class="comment__author">{author}</span> ',
        f'<a class="comment__permalink" href="#comment-{pk}">',
        f'<time datetime="{created.isoformat()}">{created.day} {months[created.month]} '
        f"{created.year}, {created.hour:02}:{created.minute:02}</time></a>",
        "</header>",
    ]
    insight_title = insight_titles.get(comment.insight_id)
    if insight_title:
        html.append(f'<p class="comment__insight">On: <em>{escape(insight_title)}</em></p>')
    if not approved:
        html.append(AWAITING_NOTICE)
    html.append(f'<div class="comment__text" dir="auto">{comment.body_html}</div>')
    if approved and reply_url is not None:
        html.append(
            f'<a class="comment__reply" href="{reply_url}{pk}#comment-form" '
            f'aria-label="Reply to {name}">Reply</a>'
        )
    html.append("</article>")
    return "".join(html)


class WidgetRenderer(DjangoTemplates):
    """Django's form renderer, except that <input> and <textarea> are written here.

    Through Django's widget templates (input.html including attrs.html) the comment form's ten
    inputs cost about 1.5 ms, a fifth of a 200-comment article page. These functions write the
    same markup as those templates; tests/comments/test_thread_html.py compares the two. Every
    other template (errors, selects, the form's own layout) is Django's.
    """

    def render(self, template_name, context, request=None):
        write = _WIDGETS.get(template_name)
        if write is None:
            return super().render(template_name, context, request)
        return write(context["widget"])


def _text(value):
    # What {{ value|stringformat:"s" }} shows: a safe string as it is, anything else escaped.
    return str(value) if isinstance(value, SafeData) else escape(str(value))


def _attrs(attrs):
    # django/forms/widgets/attrs.html: False leaves the attribute out, True writes its name only.
    return "".join(
        f" {_text(name)}" if value is True else f' {_text(name)}="{_text(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _input(widget):
    value = widget["value"]
    shown = "" if value is None else f' value="{_text(value)}"'
    return (
        f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"'
        f"{shown}{_attrs(widget['attrs'])}>"
    )


def _textarea(widget):
    value = widget["value"]
    return (
        f'<textarea name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>\n'
        f"{_text(value) if value else ''}</textarea>"
    )


_WIDGETS = {
    **{
        f"django/forms/widgets/{name}.html": _input
        for name in ("input", "text", "email", "url", "hidden", "checkbox", "number", "password")
    },
    "django/forms/widgets/textarea.html": _textarea,
}
