"""WSGI entry point for gunicorn and other application servers."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()

from blog.fast_path import ArticlePageFastPath  # noqa: E402  (imports models: after setup)

# Anonymous readers of a cached article page are answered before Django's stack: see the module.
application = ArticlePageFastPath(django_application)
