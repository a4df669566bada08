"""Whether the replica may serve reads: reachable, in recovery, and not lagging too far.

A healthy verdict is reused for REPLICA_CHECK_INTERVAL_SECONDS and a down one for
REPLICA_RETRY_SECONDS, so the hot path costs nothing; while one thread probes, the others
keep the previous verdict rather than queue behind it. A failed read marks the replica down
at once (see mark_replica_down).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)

REPLICA_ALIAS = "replica"

# Lag is zero while streaming with everything received replayed; otherwise it is the age of
# the last replayed transaction, which grows while replay is paused, falls behind, or the
# stream is cut (then received == replayed proves nothing). NULL (nothing replayed since
# start, and not caught up) counts as unusable.
_LAG_SQL = """
SELECT pg_is_in_recovery(),
       CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn()
             AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')
            THEN 0
            ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
       END
"""


@dataclass(frozen=True)
class ReplicaState:
    reachable: bool
    in_recovery: bool
    lag_seconds: float | None
    error: str | None = None

    @property
    def usable(self) -> bool:
        return (
            self.reachable
            and self.in_recovery
            and self.lag_seconds is not None
            and self.lag_seconds <= settings.REPLICA_MAX_LAG_SECONDS
        )


_lock = threading.Lock()
_UNKNOWN = ReplicaState(
    reachable=False, in_recovery=False, lag_seconds=None, error="not checked yet"
)
_cached: tuple[float, ReplicaState] | None = None


def probe_replica() -> ReplicaState:
    """Ask the replica now, uncached."""
    connection = connections[REPLICA_ALIAS]
    try:
        with connection.cursor() as cursor:
            cursor.execute(_LAG_SQL)
            in_recovery, lag = cursor.fetchone()
    except DatabaseError as exc:
        _close_quietly(connection)
        return ReplicaState(reachable=False, in_recovery=False, lag_seconds=None, error=str(exc))
    return ReplicaState(
        reachable=True,
        in_recovery=bool(in_recovery),
        lag_seconds=None if lag is None else float(lag),
    )


def _fresh(cached: tuple[float, ReplicaState] | None) -> bool:
    if cached is None:
        return False
    checked_at, state = cached
    ttl = (
        settings.REPLICA_CHECK_INTERVAL_SECONDS if state.usable else settings.REPLICA_RETRY_SECONDS
    )
    return time.monotonic() - checked_at < ttl


def replica_state() -> ReplicaState:
    """The cached verdict, refreshed when stale (see the module's docstring)."""
    global _cached
    cached = _cached
    if _fresh(cached):
        return cached[1]
    if not _lock.acquire(blocking=False):
        # Another thread is probing: keep the previous verdict, or the primary if none.
        return cached[1] if cached else _UNKNOWN
    try:
        if _fresh(_cached):
            return _cached[1]
        state = probe_replica()
        if not state.usable:
            logger.warning(
                "replica skipped",
                extra={"reachable": state.reachable, "lag_seconds": state.lag_seconds},
            )
        _cached = (time.monotonic(), state)
        return state
    finally:
        _lock.release()


def replica_has_replayed(lsn: str) -> bool:
    """Whether the replica has replayed the primary's WAL up to `lsn` (False if unreachable)."""
    try:
        with connections[REPLICA_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn])
            return bool(cursor.fetchone()[0])
    except DatabaseError:
        _close_quietly(connections[REPLICA_ALIAS])
        return False


def mark_replica_down(reason: str) -> None:
    """Skip the replica until the next check, after a read on it failed."""
    global _cached
    _close_quietly(connections[REPLICA_ALIAS])
    state = ReplicaState(reachable=False, in_recovery=False, lag_seconds=None, error=reason)
    _cached = (time.monotonic(), state)


def _close_quietly(connection) -> None:
    with contextlib.suppress(DatabaseError):
        connection.close()
