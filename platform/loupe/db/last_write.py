"""Read-your-writes across requests: a principal's next requests read from the replica only
once it has replayed their last write.

A request that wrote leaves the primary's WAL position in Redis for its principal (a user, or
one of the tenant's API keys, in one tenant), for a little longer than the replica may lag
(past REPLICA_MAX_LAG_SECONDS the replica serves no one anyway). The principal's next
requests read from the primary until the replica has replayed past that position, and the
mark is dropped as soon as it has, so most requests pay one Redis read and nothing more;
everyone else keeps reading from the replica. A client that creates and then fetches (every
SDK script does) finds what it made. A new tenant's schema is such a write for all its
principals at once (EVERYONE).
"""

from __future__ import annotations

import logging
import math

from django.conf import settings
from django.db import Error, connections
from redis import RedisError

from loupe.db import pinning
from loupe.db.replica_health import replica_has_replayed
from loupe.redis_client import redis_client, tenant_key

logger = logging.getLogger(__name__)


# The principal of a write every principal of the tenant must read back: its schema's
# creation (a new tenant's first requests would find no tables on a replica behind).
EVERYONE = "*"


def _key(schema_name: str, principal: str) -> str:
    return tenant_key(schema_name, "last-write", principal)


def remember_write(schema_name: str, principal: str) -> None:
    """After a request that wrote: where the primary's WAL stands now. Losing the mark (Redis
    or the primary failing here) costs at most a read of the replica's older state."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text")
            (lsn,) = cursor.fetchone()
        ttl = math.ceil(settings.REPLICA_MAX_LAG_SECONDS) + 5
        redis_client().set(_key(schema_name, principal), lsn, ex=ttl)
    except (Error, RedisError):
        logger.warning("last write not recorded", exc_info=True)


def pin_if_replica_behind(schema_name: str, principal: str) -> None:
    """Before a request: read from the primary if the principal's last write, or the last
    write of the whole tenant, is newer than what the replica has replayed."""
    keys = [_key(schema_name, principal), _key(schema_name, EVERYONE)]
    try:
        for key, lsn in zip(keys, redis_client().mget(keys), strict=True):
            if lsn is None:
                continue
            if not replica_has_replayed(lsn.decode()):
                pinning.pin_to_primary()
                return
            _forget(key, lsn)
    except RedisError:
        pinning.pin_to_primary()  # nothing known: the primary is never behind


def _forget(key: str, lsn: bytes) -> None:
    """Compare-and-delete: a newer write's mark, set meanwhile, stays."""
    with redis_client().pipeline() as pipe:
        pipe.watch(key)
        if pipe.get(key) == lsn:
            pipe.multi()
            pipe.delete(key)
            pipe.execute()
