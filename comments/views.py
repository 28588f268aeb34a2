import ipaddress
from functools import partial

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from blog.models import Article
from blog.views import ArticleDetailView
from config.net import client_ip

from .forms import CommentForm
from .moderation import OPEN, thread_state
from .notifications import notify_moderators
from .spam import assess

# The session remembers the reader's own comments so that they, and nobody else, see them
# while they wait for a moderator.
SESSION_KEY = "comments_own"
OWN_COMMENTS_REMEMBERED = 50


def own_comment_ids(request):
    """Return the ids of the comments this browser's reader posted."""
    return request.session.get(SESSION_KEY, [])


def _client_ip(request):
    try:
        return str(ipaddress.ip_address(client_ip(request) or ""))
    except ValueError:
        return None


def _article_page_with_errors(request, article, form):
    """Render the article page again, with the bound form and its errors under it."""
    view = ArticleDetailView(extra_context={"comment_form": form})
    view.setup(request, slug=article.slug)
    response = view.get(request)
    response.status_code = 400
    return response


@require_POST
def post_comment(request, slug):
    """Store a reader's comment for moderation, then send them back to it on the article."""
    article = get_object_or_404(Article.objects.published(), slug=slug)
    state = thread_state(article)
    if state != OPEN:
        context = {"article": article, "state": state}
        return render(request, "comments/closed.html", context, status=403)

    form = CommentForm(request.POST, article=article)
    if not form.is_valid():
        return _article_page_with_errors(request, article, form)

    comment = form.save(commit=False)
    comment.ip_address = _client_ip(request)
    comment.user_agent = request.headers.get("User-Agent", "")[:300]
    if request.user.is_authenticated:
        comment.user = request.user
    verdict = assess(comment, request)
    comment.status = verdict.status
    comment.moderation_reason = verdict.reason[:200]
    with transaction.atomic():
        comment.save()
        if comment.is_pending:
            admin_url = request.build_absolute_uri(
                reverse("admin:comments_comment_change", args=[comment.pk])
            )
            transaction.on_commit(partial(notify_moderators, comment, admin_url))

    own_ids = [*own_comment_ids(request), comment.pk][-OWN_COMMENTS_REMEMBERED:]
    request.session[SESSION_KEY] = own_ids
    if comment.is_approved:
        messages.success(request, "Thank you. Your comment is published.")
    else:
        messages.success(
            request,
            "Thank you. Your comment is held for moderation and will appear to other "
            "readers once a moderator approves it.",
        )
    return redirect(comment.get_thread_url(own_ids))
