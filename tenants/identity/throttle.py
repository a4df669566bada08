"""Failed authentications are counted per client address in Redis; past
AUTH_FAILURES_PER_MINUTE in a minute, the client is refused (429) before any verification."""

from __future__ import annotations

import time

from django.conf import settings

from loupe.redis_client import redis_client

WINDOW_SECONDS = 60


def _key(client: str) -> str:
    window = int(time.time() // WINDOW_SECONDS)
    return f"{settings.REDIS_KEY_PREFIX}:auth-failures:{client}:{window}"


def is_throttled(client: str) -> bool:
    count = redis_client().get(_key(client))
    return count is not None and int(count) >= settings.AUTH_FAILURES_PER_MINUTE


def record_failure(client: str) -> None:
    pipe = redis_client().pipeline()
    pipe.incr(_key(client))
    pipe.expire(_key(client), WINDOW_SECONDS * 2)
    pipe.execute()
