import logging

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

logger = logging.getLogger(__name__)


class ReusedClientRedisCacheClient(RedisCacheClient):
    """Keep one redis-py client per connection pool instead of building one per operation.

    Django makes a new ``redis.Redis`` for every call, and building its table of response
    callbacks took longer than the round trip of a cached page's GET. A client is thread-safe
    (it borrows a connection from the pool per command), so one per pool is enough.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class ForgivingRedisCache(RedisCache):
    """Django's Redis cache, where an unreachable server reads as a miss and a write is dropped.

    The site uses its cache only to go faster (pages, fragments) or to limit (rate limits, which
    decide their own policy for an outage), so Redis being down must never become a 500.
    Counters (incr, decr) still raise, for their callers to decide.
    """

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient

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
