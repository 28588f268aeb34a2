"""Serve stored article pages to anonymous readers at the WSGI layer.

ArticlePageCacheMiddleware answers a cached page early in Django's stack, yet a hit there still
pays for Django's request and response objects, URL resolution, the security and CSP middleware
and a CSRF token drawn one character at a time: about 0.45 ms, four times what gunicorn spends
sending a static file. ArticlePageFastPath wraps the WSGI application. Each worker keeps the
pages Django served it from the page cache, together with the exact headers Django's stack gave
them, and answers a repeat request for one after a single small round trip to the shared cache
to read the article's page version. Invalidation stays exact: a bumped version or an expired
page sends the request down the ordinary path, which serves the current page and refreshes the
copy kept here.

A request goes down the ordinary path unless it is a plain GET or HEAD of an article page (or
one of its comment pages) with neither a session nor a messages cookie, no conditional header, a
host Django accepts and, when HTTPS is required, over HTTPS. The ordinary path then applies
every rule as before: redirects, 400 for a bad host, 304 for a matching ETag.
"""

import functools
import logging
import re
import secrets
import time
from collections import OrderedDict

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpResponse, parse_cookie
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH

from .cache import (
    SERVED_PAGE_ENVIRON_KEY,
    article_slug,
    is_current,
    page_body,
    page_key,
    version_key,
)

logger = logging.getLogger(__name__)

# Pages kept per worker; an article page is 100-300 KB, so this bounds memory at a few dozen MB.
PAGES_KEPT = 100
# Headers that belong to one response only: the fast path writes its own.
PER_RESPONSE_HEADERS = {"set-cookie", "content-length"}
_COMMENT_PAGE_QUERY = re.compile(r"(?:cpage=(\d{1,9}))?")
_SECRET = re.compile(rf"[{re.escape(CSRF_ALLOWED_CHARS)}]{{{CSRF_SECRET_LENGTH}}}")


class ArticlePageFastPath:
    def __init__(self, application):
        self.application = application
        self.pages = OrderedDict()

    def __call__(self, environ, start_response):
        try:
            request = self._servable(environ)
            if request is not None:
                key, slug, cookies = request
                kept = self.pages.get(key)
                if kept is not None and is_current(kept[0], cache.get(version_key(slug))):
                    self.pages.move_to_end(key, last=True)
                    return self._serve(environ, start_response, cookies, *kept)
        except Exception:
            # A fault here must cost a reader nothing: Django's stack serves them instead.
            logger.exception("Article page fast path failed; serving through Django")
            request = None
        if request is None:
            return self.application(environ, start_response)
        return self._serve_and_keep(environ, start_response, request[0])

    def _servable(self, environ):
        """Return (kept-page key, slug, cookies) when this request may be answered here."""
        if not settings.ARTICLE_PAGE_CACHE_SECONDS or settings.CSRF_USE_SESSIONS:
            return None
        if environ["REQUEST_METHOD"] not in ("GET", "HEAD"):
            return None
        if "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ:
            return None
        query = _COMMENT_PAGE_QUERY.fullmatch(environ.get("QUERY_STRING", ""))
        if query is None:
            return None
        cookies = parse_cookie(environ.get("HTTP_COOKIE", ""))
        if settings.SESSION_COOKIE_NAME in cookies or CookieStorage.cookie_name in cookies:
            return None
        csrf_cookie = cookies.get(settings.CSRF_COOKIE_NAME)
        if csrf_cookie is not None and not _SECRET.fullmatch(csrf_cookie):
            return None
        if _carries_null(environ, cookies):
            return None
        # A copy: WSGIRequest writes the decoded path back, and Django must get the original.
        request = WSGIRequest(environ.copy())
        slug = article_slug(request.path_info)
        if slug is None:
            return None
        try:
            request.get_host()
        except DisallowedHost:
            return None
        secure = request.is_secure()
        if settings.SECURE_SSL_REDIRECT and not secure:
            return None
        # Keyed by scheme too: the security middleware's headers differ over HTTPS.
        return (page_key(slug, query.group(1) or ""), secure), slug, cookies

    def _serve(self, environ, start_response, cookies, stored, headers):
        secret = cookies.get(settings.CSRF_COOKIE_NAME) or _random_csrf_string()
        body = page_body(stored, _masked(secret))
        start_response(
            "200 OK",
            [
                *headers,
                ("Content-Length", str(len(body))),
                # Django renews the CSRF cookie on every response that carries its token.
                ("Set-Cookie", _csrf_cookie(secret)),
            ],
        )
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    def _serve_and_keep(self, environ, start_response, key):
        sent = {}

        def keep_headers(status, headers, exc_info=None):
            sent["status"], sent["headers"] = status, headers
            return start_response(status, headers, exc_info)

        result = self.application(environ, keep_headers)
        stored = environ.get(SERVED_PAGE_ENVIRON_KEY)
        # A page rendered while the cache was unreachable has no version to check it against:
        # keeping it would serve it on, past any change, for as long as the outage lasts. A page
        # the cache would not store (it expires at once) is not worth a place either.
        kept = stored is not None and is_current(stored, stored["version"])
        if kept and sent.get("status", "").startswith("200 "):
            headers = [h for h in sent["headers"] if h[0].lower() not in PER_RESPONSE_HEADERS]
            self.pages.pop(key, None)
            self.pages[key] = (stored, headers)
            while len(self.pages) > PAGES_KEPT:
                self.pages.popitem(last=False)
        return result


def _carries_null(environ, cookies):
    """Say whether a header or cookie holds NUL: Django's stack answers those with a 400."""
    headers = (value for name, value in environ.items() if name.startswith("HTTP_"))
    return any("\x00" in text for text in (*headers, *cookies, *cookies.values()))


def _random_csrf_string():
    # Django draws each character with secrets.choice, about 2 µs apiece; one call to the same
    # CSPRNG for all of them. Bytes past the last whole multiple of the alphabet's 62 letters
    # (248) are dropped so that every character is equally likely.
    alphabet = CSRF_ALLOWED_CHARS
    limit = 256 // len(alphabet) * len(alphabet)
    chars = []
    while len(chars) < CSRF_SECRET_LENGTH:
        chars += [alphabet[b % len(alphabet)] for b in secrets.token_bytes(40) if b < limit]
    return "".join(chars[:CSRF_SECRET_LENGTH])


_ALPHABET_INDEX = {char: index for index, char in enumerate(CSRF_ALLOWED_CHARS)}


def _masked(secret):
    """Return the token for secret as Django's get_token does: a fresh mask, then the cipher."""
    alphabet, index = CSRF_ALLOWED_CHARS, _ALPHABET_INDEX
    mask = _random_csrf_string()
    cipher = "".join(
        alphabet[(index[s] + index[m]) % len(alphabet)] for s, m in zip(secret, mask, strict=True)
    )
    return mask + cipher


_SECRET_PLACEHOLDER = "0" * CSRF_SECRET_LENGTH


def _csrf_cookie(secret):
    """Return the Set-Cookie value Django's CSRF middleware would send for secret."""
    # Only the expiry date changes with time, once a second: build Django's cookie once per
    # second and put each reader's secret in it (a secret is alphanumeric, never quoted).
    attributes = {name: getattr(settings, setting) for name, setting in _COOKIE_SETTINGS}
    template = _csrf_cookie_template(int(time.time()), **attributes)
    return template.replace(_SECRET_PLACEHOLDER, secret)


# set_cookie's arguments, as CsrfViewMiddleware passes them.
_COOKIE_SETTINGS = [
    ("key", "CSRF_COOKIE_NAME"),
    ("max_age", "CSRF_COOKIE_AGE"),
    ("domain", "CSRF_COOKIE_DOMAIN"),
    ("path", "CSRF_COOKIE_PATH"),
    ("secure", "CSRF_COOKIE_SECURE"),
    ("httponly", "CSRF_COOKIE_HTTPONLY"),
    ("samesite", "CSRF_COOKIE_SAMESITE"),
]


@functools.lru_cache(maxsize=4)
def _csrf_cookie_template(second, key, **attributes):
    response = HttpResponse()
    response.set_cookie(key, _SECRET_PLACEHOLDER, **attributes)
    return response.cookies[key].output(header="").strip()
