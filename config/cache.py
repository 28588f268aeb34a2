import logging

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)


class ForgivingRedisCache(RedisCache):
    """Django's Redis cache, where an unreachable server reads as a miss and a write is dropped.

    The site uses its cache only to go faster (pages, fragments) or to limit (rate limits, which
    decide their own policy for an outage), so Redis being down must never become a 500.
    Counters (incr, decr) still raise, for their callers to decide.
    """

    def _forgive(self, action, default, *args, **kwargs):
        try:
            return getattr(super(), action)(*args, **kwargs)
        except Exception:
            logger.warning("Cache %s failed; carrying on without the cache", action, exc_info=True)
            return default

    def get(self, key, default=None, version=None):
        return self._forgive("get", default, key, default, version)

    def get_many(self, keys, version=None):
        return self._forgive("get_many", {}, keys, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._forgive("set", None, key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._forgive("set_many", list(data), data, timeout, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._forgive("add", False, key, value, timeout, version)

    def delete(self, key, version=None):
        return self._forgive("delete", False, key, version)
