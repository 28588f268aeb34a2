"""Database sessions without the lookup Django makes before using a new key."""

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils.crypto import get_random_string


class SessionStore(DatabaseSessionStore):
    """Django's database sessions, minus one query for every new session.

    Django asks the database whether a freshly drawn key exists before inserting it, yet the
    insert (``save(must_create=True)``) already refuses a duplicate, and ``create()`` then draws
    again. A first comment from a reader starts a session, so the lookup cost every such post a
    round trip for a collision among 36**32 keys.
    """

    def _get_new_session_key(self):
        return get_random_string(32, VALID_KEY_CHARS)
