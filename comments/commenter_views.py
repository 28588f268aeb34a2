"""A commenter's own pages, reached by signed links instead of an account (comments.links).

Private pages are never cached, never indexed and send no Referer, since their address is
the key to them.
"""

import json
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from blog.rendering import render_comment

from .forms import CommentEditForm, CommenterLinkRequestForm
from .links import (
    BadLink,
    ExpiredLink,
    read_commenter_link,
    read_confirmation_token,
    read_unsubscribe_token,
)
from .models import Comment
from .notifications import confirm_address, send_commenter_link, unsubscribe
from .privacy import comments_of, erase_personal_data, export_personal_data, withdraw

AUTHOR_STATUS = {
    Comment.Status.PENDING: "Awaiting moderation",
    Comment.Status.APPROVED: "Published",
    Comment.Status.REJECTED: "Not published",
    # Told apart from a rejection nowhere a commenter can see, as on the article page.
    Comment.Status.SPAM: "Not published",
}


def _private(response):
    add_never_cache_headers(response)
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def link_problem(request, error, purpose="private link"):
    """Render the page for a link that is expired (410) or was altered or cut short (400)."""
    expired = isinstance(error, ExpiredLink)
    context = {"expired": expired, "purpose": purpose, "form": CommenterLinkRequestForm()}
    status = 410 if expired else 400
    return _private(render(request, "comments/link_problem.html", context, status=status))


def with_commenter_link(view):
    """Open a private page only for a valid, unexpired link; pass the view its CommenterLink."""

    @wraps(view)
    def wrapper(request, token, *args, **kwargs):
        try:
            link = read_commenter_link(token)
        except (BadLink, KeyError, TypeError) as error:
            return link_problem(request, error)
        return _private(view(request, link, *args, **kwargs))

    return wrapper


def _home(link):
    return redirect(link.url())


@require_http_methods(["GET", "HEAD"])
@with_commenter_link
def commenter_home(request, link):
    """List the link's comments with their status, and what the author may do with them."""
    comments = list(
        comments_of(link.email, link.comment_ids)
        .select_related("article", "rejection_reason")
        .order_by("-created_at", "-pk")
    )
    for comment in comments:
        comment.author_status = AUTHOR_STATUS[comment.status]
        reason = comment.rejection_reason
        shared = comment.status == Comment.Status.REJECTED and reason and reason.is_shown_to_author
        comment.shared_reason = (reason.public_text or reason.label) if shared else ""
    context = {
        "link": link,
        "comments": comments,
        "max_age_days": settings.COMMENTS_LINK_MAX_AGE_DAYS,
    }
    return render(request, "comments/commenter_home.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@with_commenter_link
def edit_comment(request, link, pk):
    """Let the author rewrite a comment while no moderator has decided on it."""
    comment = get_object_or_404(comments_of(link.email, link.comment_ids), pk=pk)
    if not comment.is_pending:
        messages.error(request, "Only a comment that awaits moderation can be edited.")
        return _home(link)
    form = CommentEditForm(request.POST or None, instance=comment)
    if request.method == "POST" and form.is_valid():
        body = form.cleaned_data["body"]
        # Only while still pending: a moderator's approval must never cover unread words.
        edited = (
            Comment.objects.pending()
            .filter(pk=comment.pk)
            .update(body=body, body_html=render_comment(body))
        )
        if edited:
            messages.success(request, "Your comment is updated. It still awaits moderation.")
        else:
            messages.error(request, "A moderator decided on your comment meanwhile: not changed.")
        return _home(link)
    return render(request, "comments/commenter_edit.html", {"link": link, "form": form})


@require_http_methods(["GET", "HEAD", "POST"])
@with_commenter_link
def withdraw_comment(request, link, pk):
    """Ask, then withdraw one comment (deleted, or kept without its text if answered)."""
    comment = get_object_or_404(
        comments_of(link.email, link.comment_ids).select_related("article"), pk=pk
    )
    if request.method == "POST":
        kept = withdraw(comment)
        messages.success(
            request,
            "Your comment is withdrawn. Replies answer it, so its place in the thread stays, "
            "without your name or words."
            if kept
            else "Your comment is withdrawn and deleted.",
        )
        return _home(link)
    return render(request, "comments/commenter_withdraw.html", {"link": link, "comment": comment})


@require_http_methods(["GET", "HEAD"])
@with_commenter_link
def export_comments(request, link):
    """Download everything stored about the link's comments, as JSON."""
    data = export_personal_data(link.email, link.comment_ids)
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = 'attachment; filename="my-comments.json"'
    return response


@require_http_methods(["GET", "HEAD", "POST"])
@with_commenter_link
def erase_comments(request, link):
    """Ask, then remove the author's name, address and words from all the link's comments."""
    comments = comments_of(link.email, link.comment_ids)
    if request.method == "POST":
        erased = erase_personal_data(link.email, link.comment_ids)
        noun = "comment" if erased == 1 else "comments"
        messages.success(request, f"Your personal data is erased from {erased} {noun}.")
        return _home(link)
    context = {"link": link, "count": comments.count()}
    return render(request, "comments/commenter_erase.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def request_link(request):
    """Mail a fresh private link to an address; say the same whether or not it commented."""
    form = CommenterLinkRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        send_commenter_link(form.cleaned_data["email"])
        return _private(render(request, "comments/link_sent.html"))
    status = 400 if form.errors else 200
    return _private(render(request, "comments/link_request.html", {"form": form}, status=status))


@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request, token):
    """Confirm an address for notices: a button to press, so that mail scanners that open
    links do not confirm on their own."""
    try:
        email = read_confirmation_token(token)
    except (BadLink, KeyError, TypeError) as error:
        return link_problem(request, error, purpose="confirmation link")
    if request.method == "POST":
        confirm_address(email)
        return _private(render(request, "comments/address_confirmed.html", {"email": email}))
    return _private(render(request, "comments/confirm_address.html", {"email": email}))


# Mail programs send the one-click unsubscribe POST (RFC 8058) without a session or a CSRF
# token, so this one view is exempt. It can only ever turn mail off, for the address the
# signed link names, so a forged request cannot do harm.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe_view(request, token):
    """Turn off every notice for the link's address: GET asks, POST does it."""
    try:
        email = read_unsubscribe_token(token)
    except (BadLink, KeyError, TypeError) as error:
        return link_problem(request, error, purpose="unsubscribe link")
    if request.method == "POST":
        unsubscribe(email)
        return _private(render(request, "comments/unsubscribed.html", {"email": email}))
    return _private(render(request, "comments/unsubscribe.html", {"email": email}))
