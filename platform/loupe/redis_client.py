"""The Redis client, one per process, and tenant-scoped key names."""

from __future__ import annotations

from functools import lru_cache

import redis
from django.conf import settings


@lru_cache(maxsize=1)
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def tenant_key(schema_name: str, *parts: str) -> str:
    """A Redis key that belongs to one tenant: `<prefix>:<schema>:<parts...>`."""
    return ":".join([settings.REDIS_KEY_PREFIX, schema_name, *parts])
