"""Tell moderators about held comments."""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils.text import Truncator

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
