"""Draining the outbox into Elasticsearch.

Postgres triggers write an outbox entry with every change to a data row or its annotations
(search/triggers.py). A drain takes a batch of entries, reads the current state of their rows,
writes those documents (or deletions, for rows that are gone) to every index that must see
them, and deletes those entries and every other of the same rows committed before the rows
were read, all in one transaction: if Elasticsearch is down or
the worker dies, the transaction rolls back and the entries wait for the next drain. Nothing
is lost, and since a document is the row's whole current state under the row's id, writing it
twice duplicates nothing.

One drainer per tenant at a time (an advisory lock), so an older read can never overwrite a
newer document.
"""

from __future__ import annotations

import contextlib
import logging

from django.conf import settings
from django.db import connection, connections, transaction
from django_tenants.utils import schema_context
from kombu.exceptions import KombuError
from redis import RedisError

from loupe.dispatch import enqueue_on_commit
from loupe.redis_client import redis_client, tenant_key
from search import bulk, indexes, loading
from search.client import elasticsearch_client
from search.models import IndexFailure

logger = logging.getLogger(__name__)

DRAIN_TASK = "workers.indexing.drain_outbox"
_LOCK_SPACE = 0x5EA2C4  # the first key of the advisory locks: "search", one per tenant
_PENDING_SECONDS = 60
# Batches one drain takes before it queues the next and yields the worker to other tenants.
BATCHES_PER_DRAIN = 50


class DrainBusy(Exception):
    """Another drainer holds the tenant's lock; it drains until the outbox is empty."""


def _pending_key(schema: str) -> str:
    return tenant_key(schema, "search", "drain-pending")


def request_drain() -> None:
    """Ask for a drain of the current tenant's outbox once the transaction commits (nothing
    for a rollback). Cheap to call often: while a drain is queued and not yet started, no
    other is sent. The tenant is the one active now, whatever is active at commit."""
    schema = connection.schema_name

    def send_once() -> None:
        key = _pending_key(schema)
        try:
            if redis_client().set(key, 1, nx=True, ex=_PENDING_SECONDS):
                with schema_context(schema):
                    enqueue_on_commit(DRAIN_TASK, kwargs={})
        except (RedisError, KombuError, OSError):
            # The change is committed and its entry is in the outbox: the periodic sweep
            # queues the drain once the broker is back.
            logger.warning("could not queue an index drain", exc_info=True)
            _forget(key)

    transaction.on_commit(send_once)


def _forget(key: str) -> None:
    with contextlib.suppress(RedisError):
        redis_client().delete(key)


def drain(*, batch_size: int | None = None) -> int:
    """Drain the current tenant's outbox; returns the rows written. After BATCHES_PER_DRAIN
    batches it queues the next drain and returns. Raises DrainBusy when another drainer is at
    work, and what Elasticsearch raises (the batch in hand stays in the outbox)."""
    if elasticsearch_client() is None:
        return _discard_all()
    with transaction.atomic(using="default"):
        _lock()
        indexes.ensure_live_index()
    batch_size = batch_size or settings.SEARCH_DRAIN_BATCH_SIZE
    written = 0
    for _ in range(BATCHES_PER_DRAIN):
        # Cleared before each look at the outbox, so a change committed after that look
        # always finds the flag clear and queues the next drain.
        _forget(_pending_key(connection.schema_name))
        done = _drain_batch(batch_size)
        if not done:
            return written
        written += done
    request_drain()
    return written


def _drain_batch(batch_size: int) -> int:
    with transaction.atomic(using="default"), connection.cursor() as cursor:
        _lock()
        cursor.execute(
            "SELECT id, data_row_id FROM search_outbox ORDER BY id LIMIT %s FOR UPDATE",
            [batch_size],
        )
        entries = cursor.fetchall()
        if not entries:
            return 0
        row_ids = sorted({row_id for _, row_id in entries})
        # The same rows' later entries (an import's annotations follow its rows, a batch
        # apart): committed before the rows are read, they are written by this batch too.
        cursor.execute(
            "SELECT id FROM search_outbox WHERE data_row_id = ANY(%s) FOR UPDATE", [row_ids]
        )
        entry_ids = [entry_id for (entry_id,) in cursor.fetchall()]
        # The targets are read after the entries: a reindex that starts later reads rows
        # that already hold these changes.
        targets = indexes.write_targets()
        rows = loading.rows_by_id(row_ids)
        found = {row["id"] for row in rows}
        deleted = [row_id for row_id in row_ids if row_id not in found]
        refused: dict[int, str] = {}
        for target in targets:
            indexes.ensure_current_mapping(target)
            body = bulk.index_operations(target, rows, deleted_ids=deleted)
            refused |= bulk.send(body, require_alias=target == indexes.alias_name())
        record_refusals(refused, written=found - set(refused))
        cursor.execute("DELETE FROM search_outbox WHERE id = ANY(%s)", [entry_ids])
        return len(row_ids)


def record_refusals(refused: dict[int, str], *, written: set[int]) -> None:
    """Keep the rows Elasticsearch refused for good, and forget those it now took."""
    if written:
        IndexFailure.objects.filter(data_row_id__in=written).delete()
    for row_id, reason in refused.items():
        logger.error("row refused by the index", extra={"row": row_id, "reason": reason})
        IndexFailure.objects.update_or_create(data_row_id=row_id, defaults={"reason": reason})


def _discard_all() -> int:
    """With no Elasticsearch configured there is nothing to index: the entries go (a reindex
    builds the whole index once one is configured)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM search_outbox")
        return cursor.rowcount


def lock() -> None:
    """Hold the tenant's drain lock until the transaction ends, waiting for it if need be."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_LOCK_SPACE, connection.schema_name]
        )


def _lock() -> None:
    """Take the tenant's drain lock for the transaction, or raise DrainBusy."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))",
            [_LOCK_SPACE, connection.schema_name],
        )
        if not cursor.fetchone()[0]:
            raise DrainBusy(connection.schema_name)


def has_entries(*, using: str = "default") -> bool:
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM search_outbox)")
        return cursor.fetchone()[0]
