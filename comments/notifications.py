"""Mail: moderators hear of held comments; commenters get the notices they opted in to.

Commenter mail follows double opt-in. An address gets nothing but one confirmation mail
(at most one per COMMENTS_ADDRESS_MAIL_INTERVAL_MINUTES) until its owner opens the signed
confirmation link; only then do "published" and "someone replied" notices go to it. Every
commenter mail carries a signed one-click unsubscribe link, in its text and in the
List-Unsubscribe header.

Mails are prepared after the database commit, inside the request (one or two small queries),
and handed to a small thread pool for the SMTP conversation, so a slow or broken mail server
never holds up or breaks a request, and a comment is stored whatever happens to its mail.
"""

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.mail import EmailMessage, send_mail
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.text import Truncator

from .links import (
    absolute_url,
    commenter_link,
    confirmation_token,
    normalise_email,
    unsubscribe_token,
)
from .models import Comment, ConfirmedAddress

logger = logging.getLogger(__name__)

MODERATORS_GROUP = "Moderators"


def moderator_emails():
    """Return the addresses of active superusers and members of the Moderators group."""
    users = get_user_model().objects.filter(
        Q(is_superuser=True) | Q(groups__name=MODERATORS_GROUP), is_active=True
    )
    return sorted(set(users.exclude(email="").values_list("email", flat=True)))


def _one_line(text, limit):
    """Return text on one line: a mail header must never carry a reader's line breaks."""
    return Truncator(" ".join(str(text).split())).chars(limit)


def notify_moderators(comment, admin_url):
    """Email the moderators that a comment is held; a mail failure is logged, never raised."""
    try:
        recipients = moderator_emails()
        if not recipients:
            return
        subject = (
            f"[{_one_line(settings.SITE_NAME, 40)}] Comment held on "
            f"“{_one_line(comment.article.title, 80)}” by {_one_line(comment.author_name, 40)}"
        )
        body = render_to_string(
            "comments/email/comment_held.txt",
            {
                "comment": comment,
                "article": comment.article,
                "excerpt": Truncator(comment.body).chars(500),
                "admin_url": admin_url,
            },
        )
        send_mail(subject, body, None, recipients)
    except Exception:
        logger.exception("Could not email the moderators about comment %s", comment.pk)


# Commenter mail

_pool = None


def _mail_pool():
    global _pool
    if _pool is None:
        # Two threads are plenty for a blog's mail; interpreter exit waits for queued mails.
        _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="comment-mail")
    return _pool


def _send(messages):
    for message in messages:
        try:
            message.send()
        except Exception:
            # The address is personal data: the log names the mail, not the person.
            logger.exception("Could not send the commenter mail “%s”", message.subject)


def deliver(messages):
    """Send prepared mails: on the thread pool, or at once with COMMENTS_MAIL_IN_BACKGROUND off.

    Return the pool's Future, or None when sent at once or when there is nothing to send.
    """
    if not messages:
        return None
    if settings.COMMENTS_MAIL_IN_BACKGROUND:
        return _mail_pool().submit(_send, messages)
    _send(messages)
    return None


def is_confirmed(email):
    return ConfirmedAddress.objects.filter(email=normalise_email(email)).exists()


def _claim_mail_slot(purpose, email):
    """Return True at most once per address and purpose in the mail interval."""
    digest = hashlib.sha256(normalise_email(email).encode()).hexdigest()
    timeout = settings.COMMENTS_ADDRESS_MAIL_INTERVAL_MINUTES * 60
    return not timeout or cache.add(f"comments-mail:{purpose}:{digest}", 1, timeout=timeout)


def commenter_message(to, subject, template, context):
    """Return a mail to a commenter, with their private link and a one-click unsubscribe."""
    unsubscribe_url = absolute_url(reverse("comments:unsubscribe", args=[unsubscribe_token(to)]))
    context = {
        **context,
        "site_name": settings.SITE_NAME,
        "private_url": absolute_url(commenter_link(to).url()),
        "unsubscribe_url": unsubscribe_url,
    }
    return EmailMessage(
        f"[{_one_line(settings.SITE_NAME, 40)}] {subject}",
        render_to_string(template, context),
        to=[to],
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def _comment_context(comment):
    return {
        "comment": comment,
        "article": comment.article,
        "excerpt": Truncator(comment.body).chars(500),
        "comment_url": absolute_url(comment.get_thread_url()),
    }


def comment_posted(comment):
    """After a new comment is committed: confirm its address if it asked for notices, and
    tell the parent's author of a reply that was published at once."""
    try:
        messages = []
        wants_mail = comment.notify_on_publish or comment.notify_on_reply
        if (
            wants_mail
            and not is_confirmed(comment.author_email)
            and _claim_mail_slot("confirm", comment.author_email)
        ):
            confirm_url = absolute_url(
                reverse("comments:confirm-address", args=[confirmation_token(comment.author_email)])
            )
            messages.append(
                commenter_message(
                    comment.author_email,
                    "Please confirm your email address",
                    "comments/email/confirm_address.txt",
                    {**_comment_context(comment), "confirm_url": confirm_url},
                )
            )
        deliver(messages)
        if comment.is_approved:
            # Published at once (a known commenter): the author saw it, the parent's did not.
            send_publication_notices([comment.pk], tell_authors=False)
    except Exception:
        logger.exception("Could not prepare the mails for comment %s", comment.pk)


def send_publication_notices(comment_ids, *, tell_authors=True):
    """Mail, to confirmed addresses only, "your comment is published" to authors who asked
    and "someone replied" to the authors of the comments these answer."""
    try:
        comments = list(
            Comment.objects.approved()
            .filter(pk__in=comment_ids)
            .select_related("article", "parent")
        )
        addresses = {normalise_email(c.author_email) for c in comments} | {
            normalise_email(c.parent.author_email) for c in comments if c.parent_id
        }
        confirmed = set(
            ConfirmedAddress.objects.filter(email__in=addresses).values_list("email", flat=True)
        )
        messages = []
        for comment in comments:
            author = normalise_email(comment.author_email)
            if tell_authors and comment.notify_on_publish and author in confirmed:
                messages.append(
                    commenter_message(
                        comment.author_email,
                        f"Your comment on “{_one_line(comment.article.title, 80)}” is published",
                        "comments/email/comment_published.txt",
                        _comment_context(comment),
                    )
                )
            parent = comment.parent
            if (
                parent is not None
                and parent.notify_on_reply
                and parent.is_approved
                and normalise_email(parent.author_email) in confirmed
                and normalise_email(parent.author_email) != author
            ):
                messages.append(
                    commenter_message(
                        parent.author_email,
                        f"{_one_line(comment.author_name, 40)} replied to your comment on "
                        f"“{_one_line(comment.article.title, 80)}”",
                        "comments/email/comment_reply.txt",
                        {**_comment_context(comment), "parent": parent},
                    )
                )
        deliver(messages)
    except Exception:
        logger.exception("Could not prepare the publication notices for %s", comment_ids)


def send_commenter_link(email):
    """Mail a fresh private link to an address that has comments; return nothing either way,
    so the page that asks cannot tell whether an address commented here."""
    try:
        if not Comment.objects.by_email(email).exists():
            return
        if not _claim_mail_slot("link", email):
            return
        deliver(
            [
                commenter_message(
                    email.strip(),
                    "Your private link to your comments",
                    "comments/email/commenter_link.txt",
                    {"max_age_days": settings.COMMENTS_LINK_MAX_AGE_DAYS},
                )
            ]
        )
    except Exception:
        logger.exception("Could not send a fresh private link")


def confirm_address(email):
    """Record that the owner of the address opened its confirmation link."""
    ConfirmedAddress.objects.get_or_create(email=normalise_email(email))


def unsubscribe(email):
    """Turn every notice off for the address and forget its confirmation."""
    Comment.objects.by_email(email).update(notify_on_publish=False, notify_on_reply=False)
    ConfirmedAddress.objects.filter(email=normalise_email(email)).delete()
