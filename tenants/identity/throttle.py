"""Failed authentications are counted per client address in Redis, and only failures are
throttled: every credential is verified first, and a valid one is served whatever else came
from its address (behind a load balancer or a NAT, many people share one). A credential that
fails from an address past AUTH_FAILURES_PER_MINUTE failures this minute is answered 429
instead of 401, so guessing stays slow while the address's members carry on.

The address is the one tenants.identity.client_address settles on (TRUSTED_PROXIES)."""

from __future__ import annotations

import time

from django.conf import settings

from loupe.redis_client import redis_client
from tenants.identity.errors import AuthErrorCode, TooManyFailures

WINDOW_SECONDS = 60


def _key(client: str) -> str:
    window = int(time.time() // WINDOW_SECONDS)
    return f"{settings.REDIS_KEY_PREFIX}:auth-failures:{client}:{window}"


def count_failure(client: str) -> None:
    """Count one failed authentication from `client` (one round trip). Raises TooManyFailures
    once the client has failed more than AUTH_FAILURES_PER_MINUTE times this minute, and
    RedisError when Redis cannot be reached."""
    key = _key(client)
    pipe = redis_client().pipeline()
    pipe.incr(key)
    pipe.expire(key, WINDOW_SECONDS * 2)
    failures, _ = pipe.execute()
    if failures > settings.AUTH_FAILURES_PER_MINUTE:
        raise TooManyFailures(
            AuthErrorCode.TOO_MANY_FAILURES, "Too many failed authentications; wait a minute."
        )
