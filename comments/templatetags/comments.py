from django import template
from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Q

from blog.cache import expire_page_at

from ..forms import CommentForm
from ..models import OWN_VISIBLE_STATUSES, Comment
from ..moderation import DISABLED, OPEN, closes_at, thread_state
from ..views import own_comment_ids

register = template.Library()

# Only what _thread.html and _comment.html read: any other field read there would cost a
# query per comment.
THREAD_FIELDS = [
    "id",
    "parent",
    "depth",
    "author_name",
    "author_url",
    "body_html",
    "status",
    "created_at",
]


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


def count_approved(comments):
    """Return how many approved comments these threads show."""
    return sum(int(comment.is_approved) + count_approved(comment.children) for comment in comments)


def _reply_target(comments, parent_id):
    """Return the shown comment with this id if a reader may reply to it, else None."""
    for comment in comments:
        if str(comment.pk) == str(parent_id):
            if comment.is_approved and comment.depth < settings.COMMENTS_MAX_DEPTH - 1:
                return comment
            return None
    return None


@register.inclusion_tag("comments/_thread.html", takes_context=True)
def comment_thread(context, article):
    """Render an article's comments, threaded and paginated, and the form to add one.

    The comments come from one query whatever their number; the reader's own comments that
    wait for a moderator come in the same query, from the ids kept in their session.
    """
    request = context["request"]
    state = thread_state(article)
    if state == DISABLED:
        return {"state": state}
    if state == OPEN:
        # A cached copy of the page must not outlive the thread's closing time.
        expire_page_at(request, closes_at(article))

    own_ids = own_comment_ids(request)
    visible = Q(status=Comment.Status.APPROVED)
    if own_ids:
        visible |= Q(status__in=OWN_VISIBLE_STATUSES, pk__in=own_ids)
    comments = list(Comment.objects.filter(visible, article=article).only(*THREAD_FIELDS))
    roots = build_thread(comments)
    page = Paginator(roots, settings.COMMENTS_PER_PAGE).get_page(request.GET.get("cpage"))

    form = replying_to = None
    if state == OPEN:
        form = context.get("comment_form")
        if form is None or form.instance.article_id != article.pk:
            replying_to = _reply_target(comments, request.GET.get("replyto"))
            form = CommentForm(article=article, initial=_initial(request, replying_to))
        else:
            replying_to = _reply_target(comments, form["parent"].value())
    return {
        "article": article,
        # Links are made absolute so that they also work on the page the POST re-renders.
        "article_url": article.get_absolute_url(),
        "state": state,
        "count": count_approved(roots),
        "page": page,
        # Comments at this depth or deeper take no replies.
        "reply_depth_limit": settings.COMMENTS_MAX_DEPTH - 1,
        "form": form,
        "replying_to": replying_to,
        "request": request,
    }


def _initial(request, replying_to):
    initial = {"parent": replying_to.pk} if replying_to else {}
    if request.user.is_authenticated:
        initial["author_name"] = request.user.get_full_name() or request.user.get_username()
        initial["author_email"] = request.user.email
    return initial
