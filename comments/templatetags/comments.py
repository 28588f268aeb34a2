from django import template
from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from blog.cache import expire_page_at

from ..forms import CommentForm
from ..models import OWN_VISIBLE_STATUSES, Comment, ThreadSettings
from ..moderation import DISABLED, OPEN, closes_at, thread_state
from ..thread_html import ThreadComment, WidgetRenderer, render_thread
from ..views import own_comment_ids

register = template.Library()

WIDGET_RENDERER = WidgetRenderer()


class Shape:
    """A comment's place in its thread: what the whole thread is read as, before any text."""

    __slots__ = ("pk", "parent_id", "status", "children")

    def __init__(self, pk, parent_id, status):
        self.pk, self.parent_id, self.status, self.children = pk, parent_id, status, []


def build_thread(comments):
    """Return the top-level comments, oldest first, each with its ``children`` filled in.

    A reply whose parent is not shown (rejected after the reply was approved) is left out:
    it cannot be read without the comment it answers.
    """
    by_id = {comment.pk: comment for comment in comments}
    roots = []
    for comment in comments:
        comment.children = []
    for comment in comments:
        if comment.parent_id is None:
            roots.append(comment)
        elif comment.parent_id in by_id:
            by_id[comment.parent_id].children.append(comment)
    return roots


def _walk(threads):
    stack = list(threads)
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children)


def _insight_titles(comments):
    """Map the ids of the insights these comments answer to the text shown as "On: …"."""
    titles = {}
    for comment in comments:
        if comment.insight_id and comment.insight_id not in titles:
            text = f"{comment.insight_audience} {comment.insight_action}"
            titles[comment.insight_id] = Truncator(text).words(12)
    return titles


def _thread_layout(article, own_ids, page_version):
    """Return the thread's layout: top-level thread count, approved count, ids on each page,
    and the moderation summary line.

    It is computed from the shape of every comment the reader may see (ids, parents,
    statuses). The approved thread and the summary change only with a new page version
    (every moderation decision and every change to the thread's settings makes one), so the
    layout is kept under that version and a request does no work in proportion to the
    thread's length; a reader with comments of their own awaiting moderation gets a layout of
    their own.
    """
    cacheable = not own_ids and page_version and settings.ARTICLE_FRAGMENT_CACHE_SECONDS
    # "v2": layouts stored before the summary was part of them must not be read.
    key = f"comment-thread-layout:v2:{article.pk}:{settings.COMMENTS_PER_PAGE}:{page_version}"
    if cacheable and (layout := cache.get(key)) is not None:
        return layout
    visible = Q(status=Comment.Status.APPROVED)
    if own_ids:
        visible |= Q(status__in=OWN_VISIBLE_STATUSES, pk__in=own_ids)
    rows = (
        Comment.objects.filter(visible, article=article)
        .order_by("created_at", "id")
        .values_list("id", "parent_id", "status")
    )
    threads = build_thread([Shape(*row) for row in rows])
    per_page = settings.COMMENTS_PER_PAGE
    layout = {
        "threads": len(threads),
        "count": sum(node.status == Comment.Status.APPROVED for node in _walk(threads)),
        "pages": [
            [node.pk for node in _walk(threads[start : start + per_page])]
            for start in range(0, len(threads), per_page)
        ]
        or [[]],
        "summary": moderation_summary(article),
    }
    if cacheable:
        cache.set(key, layout, settings.ARTICLE_FRAGMENT_CACHE_SECONDS)
    return layout


@register.inclusion_tag("comments/_thread.html", takes_context=True)
def comment_thread(context, article):
    """Render an article's comments, threaded and paginated, and the form to add one.

    A fixed number of queries whatever the thread's size: the shape of every visible comment
    (ids, parents, statuses), which places and counts them, and the moderation summary, both
    usually cached; then the rows of the page's comments only. The reader's own comments that
    wait for a moderator come with them, from their session.
    """
    request = context["request"]
    state = thread_state(article)
    if state == DISABLED:
        return {"state": state}
    if state == OPEN:
        # A cached copy of the page must not outlive the thread's closing time.
        expire_page_at(request, closes_at(article))

    own_ids = own_comment_ids(request)
    layout = _thread_layout(article, own_ids, context.get("page_version"))
    requested = request.GET.get("cpage", "")
    page = Paginator(range(layout["threads"]), settings.COMMENTS_PER_PAGE).get_page(requested)
    if requested not in ("", str(page.number)):
        # Out of range or oddly written, it shows another page: keep no copy under its own
        # key, or a crawler cycling numbers would fill the cache with the same last page.
        expire_page_at(request, timezone.now())
    count = layout["count"]
    on_page = layout["pages"][page.number - 1]
    rows = (
        Comment.objects.filter(pk__in=on_page)
        .order_by("created_at", "id")
        .values_list(*ThreadComment.COLUMNS)
        if on_page
        else []
    )
    comments = [ThreadComment(*row) for row in rows]
    roots = build_thread(comments)

    form = replying_to = None
    if state == OPEN:
        form = context.get("comment_form")
        if form is None or form.instance.article_id != article.pk:
            replying_to = _reply_target(comments, request.GET.get("replyto"))
            initial = _initial(request, replying_to)
            if insight_id := request.GET.get("insight", ""):
                initial["insight"] = insight_id
            form = CommentForm(article=article, initial=initial, renderer=WIDGET_RENDERER)
        else:
            replying_to = _reply_target(comments, form["parent"].value())

    article_url = article.get_absolute_url()
    reply_depth_limit = settings.COMMENTS_MAX_DEPTH - 1

    # The page's own parameters (its comment page) stay in every Reply link.
    kept = request.GET.copy()
    for name in ("insight", "replyto"):
        kept.pop(name, None)
    reply_url = None
    if form is not None:
        reply_url = (
            f"{article_url}?{kept.urlencode()}&replyto=" if kept else f"{article_url}?replyto="
        )
    return {
        "article": article,
        # Links are made absolute so that they also work on the page the POST re-renders.
        "article_url": article_url,
        "state": state,
        "count": count,
        "page": page,
        "thread_html": mark_safe(  # noqa: S308 - built from escaped parts, see thread_html
            render_thread(
                roots,
                insight_titles=_insight_titles(comments),
                reply_url=reply_url,
                reply_depth_limit=reply_depth_limit,
            )
        ),
        "form": form,
        "replying_to": replying_to,
        "responding_to": _responding_to(form),
        "request": request,
        "keep_ip_days": settings.COMMENTS_KEEP_IP_DAYS,
        "moderation_summary": layout["summary"],
    }


def _reply_target(comments, parent_id):
    """Return the shown comment with this id if a reader may reply to it, else None."""
    for comment in comments:
        if str(comment.pk) == str(parent_id):
            if comment.is_approved and comment.depth < settings.COMMENTS_MAX_DEPTH - 1:
                return comment
            return None
    return None


def _responding_to(form):
    """Return the insight the form answers, when it is bound to one of its article's."""
    if form is None:
        return None
    value = form["insight"].value()
    if not value:
        return None
    try:
        return form.fields["insight"].queryset.filter(pk=value).first()
    except (TypeError, ValueError):
        return None


@register.simple_tag(takes_context=True)
def insight_response_link(context, insight):
    """Return the "Respond to this insight" link, or nothing where comments are not open."""
    article = context["article"]
    if thread_state(article) != OPEN:
        return ""
    return format_html(
        '<a class="insight__respond" href="{}?insight={}#comment-form">Respond to this insight</a>',
        article.get_absolute_url(),
        insight.pk,
    )


def _initial(request, replying_to):
    initial = {"parent": replying_to.pk} if replying_to else {}
    if request.user.is_authenticated:
        initial["author_name"] = request.user.get_full_name() or request.user.get_username()
        initial["author_email"] = request.user.email
    return initial


def _count(number, singular, plural=None):
    return f"{number} {singular if number == 1 else (plural or singular + 's')}"


def moderation_summary(article):
    """Return the public moderation line ("42 perspectives received, 30 published, 9 declined
    as off-topic, 3 spam"), or "" when the article does not show it.

    The article's own setting is read first (one small query), so that an article that
    does not show the line never counts its comments; one more query counts them by status
    and reason. It counts decided comments only, so it changes when a moderator acts, which
    refreshes the cached page. Erased and withdrawn-but-answered comments keep their status
    and so their place in the counts.
    """
    shown = (
        ThreadSettings.objects.filter(article=article)
        .values_list("is_summary_shown", flat=True)
        .first()
    )
    if shown is None:
        shown = settings.COMMENTS_SHOW_MODERATION_SUMMARY
    if not shown:
        return ""
    rows = list(
        Comment.objects.filter(article=article)
        .exclude(status=Comment.Status.PENDING)
        .order_by()
        .values(
            "status",
            "rejection_reason__label",
            "rejection_reason__is_shown_to_author",
        )
        .annotate(count=Count("id"))
    )
    counts = {"approved": 0, "spam": 0}
    declined = {}
    for row in rows:
        status, number = row["status"], row["count"]
        if status == Comment.Status.REJECTED:
            public = row["rejection_reason__is_shown_to_author"]
            label = row["rejection_reason__label"] if public else ""
            declined[label] = declined.get(label, 0) + number
        elif status in counts:
            counts[status] += number
    received = counts["approved"] + counts["spam"] + sum(declined.values())
    if not received:
        return ""
    parts = [
        _count(received, "perspective") + " received",
        f"{counts['approved']} published",
    ]
    # Named reasons, most frequent first, then those declined without a public reason.
    for label, number in sorted(declined.items(), key=lambda item: (not item[0], -item[1])):
        parts.append(f"{number} declined as {label}" if label else f"{number} declined")
    if counts["spam"]:
        parts.append(f"{counts['spam']} spam")
    return ", ".join(parts)
