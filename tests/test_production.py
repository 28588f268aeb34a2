import json
import logging

from config.logging import JsonFormatter
from config.settings import cache_from_url


def test_json_log_lines_parse_and_carry_extras():
    record = logging.makeLogRecord(
        {"name": "comments", "levelname": "WARNING", "msg": "held %s", "args": ("42",)}
    )
    record.comment_id = 42
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "held 42"
    assert entry["level"] == "WARNING"
    assert entry["comment_id"] == 42


def test_cache_url_selects_the_backend():
    assert (
        cache_from_url("redis://127.0.0.1:6379/1")["BACKEND"] == "config.cache.ForgivingRedisCache"
    )
    assert cache_from_url("locmem://")["BACKEND"].endswith("LocMemCache")
    assert cache_from_url("dummy://")["BACKEND"].endswith("DummyCache")


def test_gunicorn_config_is_importable():
    import runpy
    from pathlib import Path

    config = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
    assert config["workers"] >= 1
    assert config["bind"]
    # A worker serving cached pages answers thousands of requests a second: recycling it every
    # few thousand requests cost the benchmark a fifth of its throughput and all its p99.
    assert config["preload_app"] is True
    assert config["max_requests"] >= 50_000


def test_with_redis_unreachable_pages_still_render(client, settings, db):
    """A real Redis client pointed at a closed port: every cache call fails, no page does."""
    from django.core.cache import caches

    from tests.conftest import make_article

    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.ForgivingRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    assert caches["default"].__class__.__name__ == "ForgivingRedisCache"
    article = make_article("Still readable")
    for _ in range(2):
        response = client.get(article.get_absolute_url())
        assert response.status_code == 200
        assert "Still readable" in response.content.decode()
