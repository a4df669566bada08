"""One worker per job: a session-level advisory lock on the primary, keyed by tenant, kind
and job id. The lock goes with the worker's database session, so a worker that dies (even
SIGKILLed) lets go of it at once."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

from django.db import Error, connections

from tenants.activation import active_schema


def lock_key(kind: str, job_id: int) -> int:
    return _key(f"{kind}:{job_id}")


def _key(name: str) -> int:
    digest = hashlib.blake2b(f"{active_schema()}:{name}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


def hold_tenant_lock(name: str) -> None:
    """Call inside a transaction: hold the active tenant's lock called `name` until it ends,
    waiting for it if need be (so those who take it take turns)."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_key(name)])


@contextlib.contextmanager
def lease(kind: str, job_id: int) -> Iterator[bool]:
    """Try to take the job's lock; yields whether this session holds it."""
    key = lock_key(kind, job_id)
    connection = connections["default"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            # A lost connection's lock went with its session.
            with contextlib.suppress(Error), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
