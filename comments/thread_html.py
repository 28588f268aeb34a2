"""The markup of a comment thread, built in Python.

An article page can show hundreds of comments. Rendering each through an included Django
template costs about 90 µs a comment, which made a 200-comment page take 20 ms; string
building with escaping done here costs a few µs a comment. The markup below is the whole of a
comment's HTML: change it here (and its test in tests/comments/test_thread_html.py).
"""

from html import escape

from django.utils.dates import MONTHS
from django.utils.timezone import localtime

AWAITING_NOTICE = '<p class="comment__notice">Your comment is awaiting moderation.</p>'


def render_thread(roots, *, reply_link, can_reply, insight_titles=None):
    """Return the <li> items of these comments and their replies, as safe HTML.

    reply_link(comment) gives the href of a comment's Reply link; can_reply(comment) says
    whether it gets one; insight_titles maps insight ids to the text shown as "On: …".
    """
    parts = []
    insight_titles = insight_titles or {}
    # Django's date filter costs more than the rest of a comment's markup; "j F Y, H:i" by hand.
    months = [""] + [str(MONTHS[number]) for number in range(1, 13)]
    stack = [(comment, False) for comment in reversed(roots)]
    while stack:
        comment, closing = stack.pop()
        if closing:
            parts.append("</ol></li>" if comment.children else "</li>")
            continue
        parts.append(_comment_html(comment, reply_link, can_reply, insight_titles, months))
        stack.append((comment, True))
        if comment.children:
            parts.append('<ol class="comments__replies">')
            stack.extend((child, False) for child in reversed(comment.children))
    return "".join(parts)


def _comment_html(comment, reply_link, can_reply, insight_titles, months):
    pk = comment.pk
    name = escape(comment.author_name)
    author = f"<bdi>{name}</bdi>"
    # The form accepts only http(s) addresses; rows written any other way get no link either.
    if comment.author_url.lower().startswith(("https://", "http://")):
        author = f'<a href="{escape(comment.author_url)}" rel="nofollow ugc noopener">{author}</a>'
    created = localtime(comment.created_at)
    approved = comment.is_approved
    html = [
        '<li class="comments__item">',
        f'<article id="comment-{pk}" class="comment{"" if approved else " comment--awaiting"}">',
        '<header class="comment__meta">',
        f'<span class="comment__author">{author}</span> ',
        f'<a class="comment__permalink" href="#comment-{pk}">',
        f'<time datetime="{created.isoformat()}">'
        f"{created.day} {months[created.month]} {created.year}, {created:%H:%M}</time></a>",
        "</header>",
    ]
    insight_title = insight_titles.get(comment.insight_id)
    if insight_title:
        html.append(f'<p class="comment__insight">On: <em>{escape(insight_title)}</em></p>')
    if not approved:
        html.append(AWAITING_NOTICE)
    html.append(f'<div class="comment__text" dir="auto">{comment.body_html}</div>')
    if can_reply(comment):
        html.append(
            f'<a class="comment__reply" href="{escape(reply_link(comment))}" '
            f'aria-label="Reply to {name}">Reply</a>'
        )
    html.append("</article>")
    return "".join(html)
