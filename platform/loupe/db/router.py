"""Reads to the replica, writes to the primary, with read-your-writes stickiness."""

from __future__ import annotations

from django.db import connections

from loupe.db import pinning
from loupe.db.replica_health import REPLICA_ALIAS, replica_state

PRIMARY_ALIAS = "default"


def read_alias() -> str:
    """Where a read goes now: the primary inside a transaction, after a write, or when the
    replica is unusable; the replica otherwise."""
    if pinning.is_pinned() or connections[PRIMARY_ALIAS].in_atomic_block:
        return PRIMARY_ALIAS
    if not replica_state().usable:
        return PRIMARY_ALIAS
    pinning.note_replica_read()
    return REPLICA_ALIAS


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        return read_alias()

    def db_for_write(self, model, **hints) -> str:
        pinning.note_write()
        return PRIMARY_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        # Both aliases hold the same data: the replica is a physical copy of the primary.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool | None:
        # Migrations run on the primary only; the replica receives them through the WAL.
        # None lets TenantSyncRouter decide between shared and tenant apps.
        return None if db == PRIMARY_ALIAS else False
