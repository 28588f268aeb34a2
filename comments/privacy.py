"""Personal data of commenters: export, erasure, withdrawal, and clearing old IP addresses.

What a comment stores about its author: name, email address, website, the text, the IP
address and browser it came from, and the account it was sent from, if any. Erasing an
address keeps every comment row, so threads and counts stay whole: each comment loses all
of those (its text becomes ERASED_BODY, its name ERASED_NAME) but keeps its status and place.
An erased comment that was published therefore still counts in "N comments" and still holds
up its replies. Moderator-written fields (status, reasons, the audit trail) are kept.
"""

from datetime import timedelta

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from blog.cache import bump_article
from blog.rendering import render_comment

from .links import normalise_email
from .models import Comment, ConfirmedAddress, ModerationDecision

ERASED_NAME = "Anonymous"
ERASED_BODY = "[removed at its author’s request]"
WITHDRAWN_NAME = "Withdrawn"
WITHDRAWN_BODY = "[withdrawn by its author]"


def comments_of(email, comment_ids=None):
    """Return the comments written with this address, limited to these ids if given."""
    comments = Comment.objects.by_email(email)
    if comment_ids is not None:
        comments = comments.filter(pk__in=comment_ids)
    return comments


def _iso(moment):
    return moment.isoformat() if moment else None


def comment_record(comment):
    """Return everything stored about one comment's author, for an export."""
    return {
        "id": comment.pk,
        "article": comment.article.title,
        "url": comment.article.get_absolute_url() + f"#comment-{comment.pk}",
        "in_reply_to": comment.parent_id,
        "created_at": _iso(comment.created_at),
        "status": comment.status,
        "name": comment.author_name,
        "email": comment.author_email,
        "website": comment.author_url,
        "comment": comment.body,
        "ip_address": comment.ip_address,
        "user_agent": comment.user_agent,
        "account": comment.user.get_username() if comment.user else None,
        "email_when_published": comment.notify_on_publish,
        "email_on_reply": comment.notify_on_reply,
    }


def export_personal_data(email, comment_ids=None):
    """Return, as JSON-ready data, what the site stores for an address.

    With ``comment_ids`` (a private link shown after posting) only those comments are
    exported, and not whether the address is confirmed.
    """
    comments = comments_of(email, comment_ids).select_related("article", "user")
    data = {
        "email": normalise_email(email),
        "exported_at": _iso(timezone.now()),
        "comments": [comment_record(comment) for comment in comments.order_by("created_at")],
    }
    if comment_ids is None:
        confirmation = ConfirmedAddress.objects.filter(email=normalise_email(email)).first()
        data["address_confirmed_at"] = _iso(confirmation.confirmed_at) if confirmation else None
    return data


def _anonymise(ids, name, body):
    Comment.objects.filter(pk__in=ids).update(
        author_name=name,
        author_email="",
        author_url="",
        body=body,
        body_html=render_comment(body),
        ip_address=None,
        user_agent="",
        user=None,
        notify_on_publish=False,
        notify_on_reply=False,
    )
    # The admin's history names each object by str(comment): the name and the opening words.
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Comment),
        object_id__in=[str(pk) for pk in ids],
    ).update(object_repr=f"{name}: {body}")


def erase_personal_data(email, comment_ids=None):
    """Anonymise the address's comments (or only these ids) in place; return how many.

    Erasing a whole address also forgets its confirmation, so nothing more is mailed to it.
    """
    if not normalise_email(email):
        return 0
    with transaction.atomic():
        rows = list(
            comments_of(email, comment_ids)
            .select_for_update(of=("self",))
            .order_by()
            .values_list("pk", "article__slug")
        )
        ids = [pk for pk, _ in rows]
        if ids:
            _anonymise(ids, ERASED_NAME, ERASED_BODY)
        if comment_ids is None:
            ConfirmedAddress.objects.filter(email=normalise_email(email)).delete()
    bump_article(*{slug for _, slug in rows})
    return len(ids)


def withdraw(comment):
    """Take a comment back for its author: delete it, or anonymise it if replies hang on it.

    The withdrawal goes into the moderation trail, which outlives a deleted comment.
    """
    with transaction.atomic():
        has_replies = comment.replies.exists()
        ModerationDecision.objects.create(
            comment=comment,
            from_status=comment.status,
            to_status=ModerationDecision.WITHDRAWN,
            reason=(
                "Withdrawn by its author; kept without its text for its replies"
                if has_replies
                else f"Withdrawn by its author; comment #{comment.pk} deleted"
            ),
            source=ModerationDecision.Source.COMMENTER,
        )
        if has_replies:
            _anonymise([comment.pk], WITHDRAWN_NAME, WITHDRAWN_BODY)
            bump_article(comment.article.slug)
        else:
            # The post_delete signal drops the cached pages.
            comment.delete()
    return has_replies


def stale_sent_from(days, now=None):
    """Return the comments older than ``days`` that still hold an IP address or a browser."""
    cutoff = (now or timezone.now()) - timedelta(days=days)
    return Comment.objects.filter(
        Q(ip_address__isnull=False) | ~Q(user_agent=""), created_at__lt=cutoff
    )


def purge_ip_addresses(days, *, batch_size=1000, progress=None, now=None):
    """Clear the IP address and browser of comments older than ``days``; return how many.

    Works in batches of short transactions, so it can run beside the site; running it again
    finds nothing left to do. ``progress(done, total)`` is called after each batch.
    """
    stale = stale_sent_from(days, now)
    total = stale.count()
    done = 0
    while ids := list(stale.order_by("pk").values_list("pk", flat=True)[:batch_size]):
        done += Comment.objects.filter(pk__in=ids).update(ip_address=None, user_agent="")
        if progress:
            progress(min(done, total), total)
    return done
