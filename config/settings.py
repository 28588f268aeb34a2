"""The project's only settings module: every deploy-specific value comes from the environment.

See `.env.example` for the variables and what each one does.
"""

import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name, default):
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


DEBUG = env_bool("DJANGO_DEBUG")

# pytest imports this module before any conftest can set variables, so the test run
# gets a throwaway key of its own rather than a committed one.
TESTING = "pytest" in sys.modules

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if DEBUG or TESTING:
        SECRET_KEY = "insecure-key-for-local-development-only"  # noqa: S105
    else:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. With DJANGO_DEBUG off the site refuses to start "
            "without a secret key: set DJANGO_SECRET_KEY to a long random string "
            '(python -c "import secrets; print(secrets.token_urlsafe(50))").'
        )

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
if TESTING:
    ALLOWED_HOSTS += ["testserver", "127.0.0.1", "localhost"]
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.contrib.syndication",
    "markdownx",
    "nested_admin",
    "csp",
    "axes",
    "blog",
    "comments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # Before anything that reads the path, cookies or query into a database or cache lookup.
    "config.middleware.RefuseNullCharactersMiddleware",
    "blog.cache.ArticlePageCacheMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that it sees the outcome of every login attempt.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.site",
            ],
        },
    },
]

# No DATABASE_URL means the embedded default: a SQLite file next to the code, nothing to install.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def cache_from_url(url):
    """Map CACHE_URL to a CACHES entry: redis://host:port/db, locmem:// or dummy://."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return {
            "BACKEND": "config.cache.ForgivingRedisCache",
            "LOCATION": url,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "perspectives"),
        }
    if url.startswith("dummy://"):
        return {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "default"}


# Local memory by default, which is right for one process only. Several app servers, or several
# gunicorn workers, must share one cache (Redis): page invalidation and rate limits live there.
CACHE_URL = os.environ.get("CACHE_URL", "locmem://")
CACHES = {"default": cache_from_url(CACHE_URL)}
# Sessions live in the database, which every app server shares already: a cached_db session
# turns an unreachable Redis into a 500 for every signed-in or commenting reader. Django's
# database engine, less a query per new session (config/sessions.py).
SESSION_ENGINE = "config.sessions"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, compressed files in production; tests and local runs need no collectstatic.
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Without collectstatic (local runs, tests) WhiteNoise serves straight from the app folders.
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING

EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = os.environ.get("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "Perspectives <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security headers. The policy allows no inline script anywhere (the admin and the markdownx
# editor load scripts from files); inline style attributes are still used by the admin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# HTTPS-only behaviour for real deployments; local runs and the test client speak plain HTTP.
PRODUCTION = not DEBUG and not TESTING
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", PRODUCTION)
if env_bool("DJANGO_BEHIND_TLS_PROXY"):
    # Only behind a proxy that sets this header itself and strips it from clients.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Behind N proxies that each append to X-Forwarded-For, the client is the Nth address from the
# right; with 0 (the default) only the socket's REMOTE_ADDR is believed. See config/net.py.
TRUSTED_PROXY_COUNT = env_int("DJANGO_TRUSTED_PROXY_COUNT", 0)

# Admin login brute force: five failures for one username from one address lock that pair out
# for an hour. A forged X-Forwarded-For can neither dodge the lock nor lock out somebody else,
# because the address comes from config.net.client_ip.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_HOURS", 1)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "config.net.client_ip"
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "lockout.html"

# One line per event on stderr; DJANGO_LOG_FORMAT=json gives one JSON object per line for a
# log collector.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": os.environ.get("DJANGO_LOG_FORMAT", "plain"),
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}

# The site's own settings.
SITE_NAME = os.environ.get("SITE_NAME", "Perspectives")
SITE_TAGLINE = os.environ.get("SITE_TAGLINE", "Long-form analysis, and the readers who answer it")
# The site's public address, for links in mails sent outside a request (moderation, cron).
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
BLOG_ARTICLES_PER_PAGE = env_int("BLOG_ARTICLES_PER_PAGE", 10)
# Anonymous readers get article pages from Django's cache for up to this long; any change to the
# article or its comments invalidates them at once (blog/cache.py). 0 turns the cache off.
ARTICLE_PAGE_CACHE_SECONDS = env_int("ARTICLE_PAGE_CACHE_SECONDS", 600)
# The article's own parts (everything but the comment thread) are kept as fragments keyed by the
# same version, so readers with a session, and pages past the page cache, skip rendering them.
ARTICLE_FRAGMENT_CACHE_SECONDS = env_int("ARTICLE_FRAGMENT_CACHE_SECONDS", 600)
# How long a shared cache in front of the site (nginx proxy_cache, a CDN) may keep a page.
SHARED_CACHE_SECONDS = env_int("SHARED_CACHE_SECONDS", 30)

MARKDOWNX_MARKDOWNIFY_FUNCTION = "blog.rendering.render_markdown"
MARKDOWNX_MEDIA_PATH = "uploads/"
# The editor's image upload (blog/editor.py) refuses larger files; images are re-encoded.
EDITOR_UPLOAD_MAX_BYTES = env_int("EDITOR_UPLOAD_MAX_BYTES", 5 * 1024 * 1024)

# Comments. Every comment waits for a moderator; these shape the thread and the spam checks.
COMMENTS_MAX_DEPTH = env_int("COMMENTS_MAX_DEPTH", 3)  # 1 = no replies
COMMENTS_PER_PAGE = env_int("COMMENTS_PER_PAGE", 50)  # top-level threads per page
COMMENTS_CLOSE_AFTER_DAYS = env_int("COMMENTS_CLOSE_AFTER_DAYS", 0)  # 0 = never close
# A rules dry run replays this many of the latest moderator decisions (see the rules' page).
COMMENTS_DRY_RUN_SIZE = env_int("COMMENTS_DRY_RUN_SIZE", 500)
# A commenter's private link (and an address confirmation link) works this many days; an
# expired one offers to mail a fresh link to the address it was made for.
COMMENTS_LINK_MAX_AGE_DAYS = env_int("COMMENTS_LINK_MAX_AGE_DAYS", 30)
# IP addresses and browsers are kept this long for spam checks, then cleared by
# `manage.py purge_ip_addresses` (run it daily from cron). 0 = keep them.
COMMENTS_KEEP_IP_DAYS = env_int("COMMENTS_KEEP_IP_DAYS", 90)
# At most one confirmation or fresh-link mail per address in this many minutes, so the forms
# that trigger them cannot flood a stranger's inbox.
COMMENTS_ADDRESS_MAIL_INTERVAL_MINUTES = env_int("COMMENTS_ADDRESS_MAIL_INTERVAL_MINUTES", 60)
# The public "N perspectives received, N published, …" line under each thread; an article's
# own comment settings override it.
COMMENTS_SHOW_MODERATION_SUMMARY = env_bool("COMMENTS_SHOW_MODERATION_SUMMARY")
# Commenter mails go out on a small thread pool after the commit, so a slow mail server never
# holds up a request. Off: they are sent in the request, after the commit (tests do this).
COMMENTS_MAIL_IN_BACKGROUND = env_bool("COMMENTS_MAIL_IN_BACKGROUND", True)
# Spam defences (comments/spam.py). A form sent sooner than this after it was served is refused:
# people read before they send, scripts do not.
COMMENTS_MIN_SECONDS = env_int("COMMENTS_MIN_SECONDS", 3)
# An older form is refused, so a harvested one cannot be replayed for ever. (A page served from
# the page cache gets a timestamp of its own: see comments.apps.)
COMMENTS_MAX_AGE_SECONDS = env_int("COMMENTS_MAX_AGE_SECONDS", 2 * 24 * 60 * 60)
# Comments one address may send per window (0 = no limit); more get a 429 page. Behind a proxy
# set DJANGO_TRUSTED_PROXY_COUNT, or every reader shares the proxy's address and its limit.
COMMENTS_RATE_LIMIT = env_int("COMMENTS_RATE_LIMIT", 5)
COMMENTS_RATE_WINDOW_SECONDS = env_int("COMMENTS_RATE_WINDOW_SECONDS", 600)  # the window
# Dotted path to a callable(comment, request) -> "spam" | "ham" | None, e.g. an Akismet client
# of your own; empty = off. Its failures are logged and the comment is held as usual.
COMMENTS_SPAM_SERVICE = os.environ.get("COMMENTS_SPAM_SERVICE") or None
# Run in order by comments.spam.assess; the first verdict wins, so spam verdicts come first.
COMMENTS_CHECKS = [
    "comments.spam.check_disallowed_words",
    "comments.spam.check_spam_service",
    "comments.spam.check_link_count",
    "comments.spam.check_moderation_words",
]
