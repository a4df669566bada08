"""The Redis client, one per process, the cache's connection pools, one per process too, and
tenant-scoped key names."""

from __future__ import annotations

import threading
from functools import lru_cache

import redis
from django.conf import settings


@lru_cache(maxsize=1)
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


class SharedConnectionPool(redis.ConnectionPool):
    """The Django cache's pool (CACHES' `pool_class`), shared by every thread of a process.
    Django keeps a cache object per thread, each building its own pools, and the web server
    runs each request on a thread of its own: without this, every request opened its own
    connections to Redis. redis-py replaces a pool's connections in a forked child."""

    _shared: dict[tuple, SharedConnectionPool] = {}
    _lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **options) -> SharedConnectionPool:
        key = (url, *sorted((name, repr(value)) for name, value in options.items()))
        with cls._lock:
            if key not in cls._shared:
                cls._shared[key] = super().from_url(url, **options)
            return cls._shared[key]


def tenant_key(schema_name: str, *parts: str) -> str:
    """A Redis key that belongs to one tenant: `<prefix>:<schema>:<parts...>`."""
    return ":".join([settings.REDIS_KEY_PREFIX, schema_name, *parts])
