"""Whether the replica may serve reads: reachable, in recovery, and not lagging too far.

One verdict is reused for REPLICA_CHECK_INTERVAL_SECONDS so the hot path costs nothing; a
failed read marks the replica down at once (see mark_replica_down).
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

# Lag is zero when everything received has been replayed; otherwise it is the age of the
# last replayed transaction (which grows while replay is paused or falling behind).
_LAG_SQL = """
SELECT pg_is_in_recovery(),
       CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn()
            THEN 0
            ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
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
    return ReplicaState(reachable=True, in_recovery=bool(in_recovery), lag_seconds=float(lag))


def replica_state() -> ReplicaState:
    """The cached verdict, refreshed when older than REPLICA_CHECK_INTERVAL_SECONDS."""
    global _cached
    now = time.monotonic()
    cached = _cached
    if cached is not None and now - cached[0] < settings.REPLICA_CHECK_INTERVAL_SECONDS:
        return cached[1]
    with _lock:
        if _cached is not None and now - _cached[0] < settings.REPLICA_CHECK_INTERVAL_SECONDS:
            return _cached[1]
        state = probe_replica()
        if not state.usable:
            logger.warning(
                "replica skipped",
                extra={"reachable": state.reachable, "lag_seconds": state.lag_seconds},
            )
        _cached = (time.monotonic(), state)
        return state


def mark_replica_down(reason: str) -> None:
    """Skip the replica until the next check, after a read on it failed."""
    global _cached
    _close_quietly(connections[REPLICA_ALIAS])
    state = ReplicaState(reachable=False, in_recovery=False, lag_seconds=None, error=reason)
    _cached = (time.monotonic(), state)


def _close_quietly(connection) -> None:
    with contextlib.suppress(DatabaseError):
        connection.close()
