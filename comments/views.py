import ipaddress
import logging
import math
from functools import partial

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from blog.models import Article
from blog.views import ArticleDetailView
from config.net import client_ip

from .forms import CommentForm
from .links import commenter_link
from .models import Comment, ModerationDecision
from .moderation import OPEN, thread_state
from .notifications import comment_posted, notify_moderators
from .spam import assess, count_post, duplicate_message, find_duplicate, rate_limit_wait

logger = logging.getLogger(__name__)

# The session remembers the reader's own comments so that they, and nobody else, see them
# while they wait for a moderator.
SESSION_KEY = "comments_own"
OWN_COMMENTS_REMEMBERED = 50
HELD_MESSAGE = (
    "Thank you. Your comment is held for moderation and will appear to other "
    "readers once a moderator approves it."
)


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


def _rate_limited(request, article, wait):
    """Answer 429 with a page that gives the reader back what they wrote."""
    context = {
        "article": article,
        "posted_text": request.POST.get("body", ""),
        "wait_minutes": math.ceil(wait / 60),
    }
    response = render(request, "comments/rate_limited.html", context, status=429)
    response["Retry-After"] = str(wait)
    add_never_cache_headers(response)
    return response


def _with_private_link(request, comment, own_ids, text):
    """Return the notice after posting, with a private link to this browser's comments.

    The link opens only comments posted from this browser with this address: typing an
    address into the form does not show that it is yours (comments/links.py). The message
    is per reader; the cached article page never holds it.
    """
    mine = [comment.pk]
    # The new comment has this address by definition; only earlier ones need looking up.
    if earlier := [pk for pk in own_ids if pk != comment.pk]:
        mine += (
            Comment.objects.by_email(comment.author_email)
            .filter(pk__in=earlier)
            .values_list("pk", flat=True)
        )
    link = commenter_link(comment.author_email, mine)
    url = request.build_absolute_uri(link.url())
    return format_html(
        '{} Keep this private link to see, edit or withdraw your comment: <a href="{}">{}</a>',
        text,
        url,
        url,
    )


@require_POST
def post_comment(request, slug):
    """Store a reader's comment for moderation, then send them back to it on the article.

    The spam defences run in the order comments/spam.py describes.
    """
    article = get_object_or_404(
        Article.objects.published().defer(*Article.SEARCH_FIELDS), slug=slug
    )
    state = thread_state(article)
    if state != OPEN:
        context = {"article": article, "state": state}
        return render(request, "comments/closed.html", context, status=403)

    address = _client_ip(request)
    if (wait := rate_limit_wait(address)) is not None:
        return _rate_limited(request, article, wait)

    form = CommentForm(request.POST, article=article)
    if form.has_filled_honeypot():
        # Answered like an accepted comment, so that the script learns nothing.
        logger.info("Dropped a comment with the honeypot filled, from %s on %s", address, slug)
        count_post(address)
        messages.success(request, HELD_MESSAGE)
        return redirect(article.get_absolute_url())
    if not form.is_valid():
        return _article_page_with_errors(request, article, form)

    comment = form.save(commit=False)
    comment.ip_address = address
    comment.user_agent = request.headers.get("User-Agent", "")[:300]
    if request.user.is_authenticated:
        comment.user = request.user
    verdict = assess(comment, request)
    comment.status = verdict.status
    comment.moderation_reason = verdict.reason[:200]
    with transaction.atomic():
        # Posts to one article wait for each other here, so that a double click stores one row.
        Article.objects.select_for_update().only("pk").get(pk=article.pk)
        duplicate = find_duplicate(article.pk, comment.author_email, comment.body)
        if duplicate is None:
            comment.save()
            ModerationDecision.objects.create(
                comment=comment,
                from_status="",
                to_status=comment.status,
                reason=comment.moderation_reason,
                source=ModerationDecision.Source.AUTO_MODERATION,
            )
            # Confirmation mail, and reply notices for a comment published at once.
            transaction.on_commit(partial(comment_posted, comment))
            if comment.is_pending:
                admin_url = request.build_absolute_uri(
                    reverse("admin:comments_comment_change", args=[comment.pk])
                )
                transaction.on_commit(partial(notify_moderators, comment, admin_url))
    if duplicate is not None:
        form.add_error(None, duplicate_message(duplicate))
        return _article_page_with_errors(request, article, form)
    count_post(address)

    own_ids = [*own_comment_ids(request), comment.pk][-OWN_COMMENTS_REMEMBERED:]
    request.session[SESSION_KEY] = own_ids
    text = "Thank you. Your comment is published." if comment.is_approved else HELD_MESSAGE
    messages.success(request, _with_private_link(request, comment, own_ids, text))
    return redirect(comment.get_thread_url(own_ids))
