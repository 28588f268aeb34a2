"""Signed links for commenters, who have no account: their private page, address
confirmation and unsubscribing.

Each purpose signs with its own salt, so one kind of link never works as another. A link to
the private page names the address, and sometimes the comments, it opens:

* sent by mail to the address, it opens every comment written with that address;
* shown on the page after posting, it opens only the comments posted from that browser,
  since whoever typed an address into the form has not shown that they own it.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

COMMENTER_SALT = "comments.commenter-link"
CONFIRM_SALT = "comments.confirm-address"
UNSUBSCRIBE_SALT = "comments.unsubscribe"

# SignatureExpired is a BadSignature: catch it first.
BadLink = signing.BadSignature
ExpiredLink = signing.SignatureExpired


def normalise_email(email):
    """Return the address as links and confirmations store it: trimmed, in lower case."""
    return email.strip().lower()


def absolute_url(path):
    """Return the site's public URL for a path, for mails sent outside a request."""
    return f"{settings.SITE_URL}{path}"


def link_max_age():
    return timedelta(days=settings.COMMENTS_LINK_MAX_AGE_DAYS)


@dataclass(frozen=True)
class CommenterLink:
    """What a private link opens: an address, and the ids it is limited to (None: all)."""

    email: str
    comment_ids: tuple | None = None

    @property
    def is_whole_address(self):
        return self.comment_ids is None

    @property
    def token(self):
        data = {"e": self.email}
        if self.comment_ids is not None:
            data["c"] = sorted(self.comment_ids)
        return signing.dumps(data, salt=COMMENTER_SALT, compress=True)

    def url(self, name="comments:commenter-home", *args):
        """Return the path of one of the private pages for this link."""
        return reverse(name, args=[self.token, *args])


def commenter_link(email, comment_ids=None):
    ids = tuple(sorted(comment_ids)) if comment_ids is not None else None
    return CommenterLink(normalise_email(email), ids)


def read_commenter_link(token):
    """Return the CommenterLink a token was made for; raise BadLink or ExpiredLink."""
    data = signing.loads(token, salt=COMMENTER_SALT, max_age=link_max_age())
    ids = data.get("c")
    return CommenterLink(data["e"], tuple(ids) if ids is not None else None)


def confirmation_token(email):
    return signing.dumps({"e": normalise_email(email)}, salt=CONFIRM_SALT)


def read_confirmation_token(token):
    """Return the address a confirmation link was made for; raise BadLink or ExpiredLink."""
    return signing.loads(token, salt=CONFIRM_SALT, max_age=link_max_age())["e"]


def unsubscribe_token(email):
    return signing.dumps({"e": normalise_email(email)}, salt=UNSUBSCRIBE_SALT)


def read_unsubscribe_token(token):
    """Return the address of an unsubscribe link; raise BadLink.

    These never expire: turning mail off must keep working from any old mail (RFC 8058).
    """
    return signing.loads(token, salt=UNSUBSCRIBE_SALT)["e"]
