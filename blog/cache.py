"""Whole-page caching of article pages for anonymous readers, with exact invalidation.

Each article slug has a version token in the cache; a cached page is stored under the token
that was current when it was rendered. Anything that changes what the page shows calls
``bump_article`` (article and section saves here, comment moderation in the comments app), so
the next request misses and renders afresh: there is no window in which a stale page is served.
Pages that change with time alone (a thread that closes on a date) set their own expiry with
``expire_page_at``.

Only requests that carry neither a session nor a messages cookie are served from or stored in
the cache: such a reader has no pending comment, no form error and no flash message, so their
page is the same as everybody else's. The per-reader parts of a page, the CSRF token and any
hidden field registered with ``refresh_field_on_serve`` (the comment form's signed timestamp),
are stored as placeholders and filled in for each reader on the way out.

A stored page is served by ArticlePageCacheMiddleware, or, when the same worker served it
before, by ArticlePageFastPath (blog/fast_path.py) at the WSGI layer, after the same version check.

The cache is an accelerator, never a dependency: if it cannot be reached, pages are rendered as
if nothing were cached, and the failure is logged.
"""

import functools
import hashlib
import logging
import re
import uuid
from datetime import timedelta
from html import unescape

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseNotModified
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.html import escape
from django.utils.http import http_date, quote_etag

CSRF_PLACEHOLDER = "__csrf_token_placeholder__"
# Where a served stored page is left in the request's WSGI environ, for ArticlePageFastPath.
SERVED_PAGE_ENVIRON_KEY = "blog.cache.served_page"
_CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_fresh_fields = {}
logger = logging.getLogger(__name__)


def refresh_field_on_serve(name, refresh):
    """Give the hidden input called name a fresh value, refresh(stored_value), on every serve."""
    _fresh_fields[name] = refresh


def _fresh_placeholder(name):
    return f"__fresh_field_{name}__"


_EXPIRES_AT = "_page_cache_expires_at"


def version_key(slug):
    return f"article-page-version:{slug}"


def bump_article(*slugs):
    """Invalidate every cached page of these articles."""
    try:
        cache.set_many({version_key(slug): uuid.uuid4().hex for slug in slugs}, timeout=None)
    except Exception:
        # Unreachable, so nothing stale can be served from it either; but a cache that comes
        # back with its old contents would serve them until they expire. Say so loudly.
        logger.exception("Could not invalidate cached pages of %s", ", ".join(slugs))


def expire_page_at(request, moment):
    """Keep the page being rendered for this request in the cache no later than moment."""
    current = getattr(request, _EXPIRES_AT, None)
    if moment is not None and (current is None or moment < current):
        setattr(request, _EXPIRES_AT, moment)


def is_cacheable_request(request):
    cookies = request.COOKIES
    return (
        request.method in ("GET", "HEAD")
        and settings.SESSION_COOKIE_NAME not in cookies
        and CookieStorage.cookie_name not in cookies
        and set(request.GET) <= {"cpage"}
    )


def page_version(slug):
    """Return the article's current page version, for fragment cache keys ("" if unreachable)."""
    try:
        return _current_version(slug)
    except Exception:
        logger.warning("Page cache unavailable; fragments of %s are rendered afresh", slug)
        return ""


def _current_version(slug):
    key = version_key(slug)
    version = cache.get(key)
    if version is None:
        cache.add(key, uuid.uuid4().hex, timeout=None)
        version = cache.get(key)
    return version


# Raised whenever the stored page's format changes, so a deploy never reads an old one.
STORED_PAGE_FORMAT = 3


def page_key(slug, comment_page=""):
    return f"article-page:{STORED_PAGE_FORMAT}:{slug}:{comment_page}"


def _page_key(slug, request):
    return page_key(slug, request.GET.get("cpage", ""))


def is_current(stored, version):
    """Say whether a stored page is the one to serve now, given the article's current version.

    No version (the cache unreachable, or a dummy cache) means nothing is current.
    """
    return (
        version is not None
        and stored["version"] == version
        and timezone.now().timestamp() < stored["expires_at"]
    )


def find_cached_page(request, slug):
    """Return the stored page for this request if it is current, else None (one cache trip)."""
    version_at, page_at = version_key(slug), _page_key(slug, request)
    try:
        found = cache.get_many([version_at, page_at])
    except Exception:
        logger.warning("Page cache unavailable; rendering %s afresh", request.path, exc_info=True)
        return None
    stored = found.get(page_at)
    if stored is not None and is_current(stored, found.get(version_at)):
        return stored
    return None


def cached_article_page(view):
    """Render and store the article page for anonymous readers; mark everyone else's private.

    Stored pages are normally served before the view is reached, by ArticlePageCacheMiddleware;
    this is the path taken when the cache has no current copy.
    """

    def wrapper(request, *args, **kwargs):
        if not settings.ARTICLE_PAGE_CACHE_SECONDS or not is_cacheable_request(request):
            response = view(request, *args, **kwargs)
            # A page with this reader's own state must never be kept by a shared cache.
            if not response.has_header("Cache-Control"):
                patch_cache_control(response, private=True, no_cache=True)
            return response
        slug = kwargs["slug"]
        stored = find_cached_page(request, slug)
        if stored is None:
            try:
                # Read before rendering: a change made meanwhile leaves this copy already stale.
                version = _current_version(slug)
            except Exception:
                logger.warning("Page cache unavailable; not storing %s", request.path)
                version = None
            response = view(request, *args, **kwargs)
            if hasattr(response, "render"):
                response.render()
            if response.status_code != 200 or response.has_header("Cache-Control"):
                return response
            stored = _store(request, response, _page_key(slug, request), version)
        return serve_cached_page(request, stored)

    return wrapper


def _store(request, response, key, version):
    body = response.content.decode(response.charset)
    # Every form on the page carries the same masked token; swap it for the placeholder.
    for token in set(_CSRF_FIELD.findall(body)):
        body = body.replace(token, CSRF_PLACEHOLDER)
    fresh = {}
    for name in _fresh_fields:
        field = re.compile(rf'(name="{re.escape(name)}"[^>]*? value=")([^"]*)(")')
        for match in field.finditer(body):
            fresh[name] = unescape(match.group(2))
        body = field.sub(rf"\g<1>{_fresh_placeholder(name)}\g<3>", body)
    now = timezone.now()
    expires_at = now + timedelta(seconds=settings.ARTICLE_PAGE_CACHE_SECONDS)
    expires_at = min(expires_at, getattr(request, _EXPIRES_AT, None) or expires_at)
    stored = {
        "version": version,
        # The page as bytes cut at its per-reader parts: serving joins them, with no pass over
        # the whole text. segments[i] is followed by the value of slots[i].
        **_cut(body, fresh),
        "fresh": fresh,
        "content_type": response["Content-Type"],
        "etag": quote_etag(hashlib.sha256(body.encode()).hexdigest()[:32]),
        "last_modified": http_date(now.timestamp()),
        "expires_at": expires_at.timestamp(),
    }
    timeout = max(0, int((expires_at - now).total_seconds()))
    if timeout and version is not None:
        try:
            cache.set(key, stored, timeout=timeout)
        except Exception:
            logger.warning("Page cache unavailable; could not store %s", key)
    return stored


def _cut(body, fresh):
    """Return the body's bytes split at its placeholders, and the placeholder after each piece."""
    names = [CSRF_PLACEHOLDER, *(_fresh_placeholder(name) for name in fresh)]
    pieces = re.split("(" + "|".join(map(re.escape, names)) + ")", body)
    return {
        "segments": [piece.encode() for piece in pieces[::2]],
        "slots": pieces[1::2],
    }


def page_body(stored, csrf_token):
    """Return a stored page's bytes for one reader: their CSRF token, fresh hidden fields."""
    values = {CSRF_PLACEHOLDER: csrf_token.encode()}
    for name, value in stored["fresh"].items():
        values[_fresh_placeholder(name)] = escape(_fresh_fields[name](value)).encode()
    parts = [stored["segments"][0]]
    for slot, segment in zip(stored["slots"], stored["segments"][1:], strict=True):
        parts += [values[slot], segment]
    return b"".join(parts)


def serve_cached_page(request, stored):
    if request.headers.get("If-None-Match") == stored["etag"]:
        response = HttpResponseNotModified()
    else:
        body = page_body(stored, get_token(request))
        response = HttpResponse(body, content_type=stored["content_type"])
        request.META[SERVED_PAGE_ENVIRON_KEY] = stored
    response["ETag"] = stored["etag"]
    response["Last-Modified"] = stored["last_modified"]
    patch_cache_control(response, public=True, max_age=0, s_maxage=settings.SHARED_CACHE_SECONDS)
    patch_vary_headers(response, ["Cookie"])
    return response


class ArticlePageCacheMiddleware:
    """Answer anonymous readers' requests for a cached article page before the rest of the stack.

    Sits right after the security and CSP middleware, whose headers every page needs; the only
    other per-reader work a stored page needs is the CSRF cookie and token, done here with
    Django's own CSRF middleware. A miss falls through to the ordinary view.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.csrf = CsrfViewMiddleware(get_response)
        self.frame_options = XFrameOptionsMiddleware(get_response)

    def __call__(self, request):
        if settings.ARTICLE_PAGE_CACHE_SECONDS and is_cacheable_request(request):
            slug = article_slug(request.path_info)
            stored = slug and find_cached_page(request, slug)
            if stored:
                # CommonMiddleware, which refuses a host not in ALLOWED_HOSTS, is not reached.
                request.get_host()
                self.csrf.process_request(request)
                response = serve_cached_page(request, stored)
                self.csrf.process_response(request, response)
                return self.frame_options.process_response(request, response)
        return self.get_response(request)


@functools.lru_cache(maxsize=4096)
def article_slug(path):
    """Return the slug when path is an article page's, else None (URLs are fixed at start)."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    if match.view_name == "blog:article-detail":
        return match.kwargs["slug"]
    return None
