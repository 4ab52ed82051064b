"""Django's Redis cache, keeping one Redis client per connection pool, with a window counter
in one round trip (incr_or_create).

Django's RedisCacheClient builds a new redis.Redis object (on a shared connection pool) for
every cache call. Building one costs more than the GET it serves: the partner API's key and
rate checks make three calls a request. A client is safe to share between threads (its pool
hands each command a connection), so one per pool does.
"""

from django.core.cache.backends import redis


class RedisCacheClient(redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(redis.RedisCache):
    """settings.CACHES' BACKEND "core.cache.RedisCache": Django's, with RedisCacheClient above."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient

    def incr_or_create(self, key, timeout: int, version=None) -> int:
        """Add one to the counter `key`, created at 0 to live `timeout` seconds when missing;
        return its new value. One round trip, atomic (MULTI/EXEC), where add() then incr()
        take three (incr asks whether the key exists first)."""
        key = self.make_and_validate_key(key, version=version)
        with self._cache.get_client(key, write=True).pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=timeout, nx=True)
            pipe.incr(key)
            return pipe.execute()[1]
