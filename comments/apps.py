from django.apps import AppConfig


class CommentsConfig(AppConfig):
    name = "comments"
    verbose_name = "Comments"

    def ready(self):
        from blog.cache import refresh_field_on_serve

        from . import signals  # noqa: F401  (drops cached article pages when comments change)
        from .spam import refresh_timestamp

        # A page served from the cache must still time the reader from when they got it.
        refresh_field_on_serve("timestamp", refresh_timestamp)
