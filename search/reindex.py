"""Rebuilding a tenant's index from Postgres, with no failed search meanwhile.

A new version is created and recorded as BUILDING in one transaction under the drain lock, so
the first drain batch that can see the new index also writes every change to it (drains read
their targets under that lock); it is then filled from Postgres with create-only writes (a
document the drainer wrote is newer and is kept), checked for rows deleted while it was
filled, and put behind the alias in one atomic call; the old version is dropped.

One reindex per tenant at a time: a session advisory lock, which Postgres lets go when the
reindex's connection ends, however its process ended. A reindex that dies keeps the live
version serving; what it left (a half-built version, an old one not dropped) is dropped by the
next reindex before it begins.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import DatabaseError, connection, transaction
from elasticsearch import ApiError, TransportError

from search import bulk, indexes, loading, outbox
from search.client import elasticsearch_client
from search.models import IndexState, IndexVersion

logger = logging.getLogger(__name__)

CHUNK_SIZE = 2000


_REINDEX_LOCK_SPACE = 0x5EA2C5  # one reindex per tenant at a time


class ReindexRunning(Exception):
    """Another reindex of this tenant is under way."""


@dataclass(frozen=True)
class ReindexResult:
    index: str
    rows: int
    dropped: list[str]  # the versions it replaced
    discarded: list[str]  # what reindexes that died had left


def reindex(
    *,
    chunk_size: int = CHUNK_SIZE,
    on_progress: Callable[[int, int], None] | None = None,
) -> ReindexResult:
    """Build a new index version of the current tenant and swap the alias to it.
    `on_progress(done, total)` follows the rows. Raises ReindexRunning, having done nothing,
    if another reindex of the tenant runs. On a failure before the swap the new version is
    dropped (by the next reindex if Elasticsearch is gone) and the live one stays as it was;
    after the swap the new one stays."""
    with _reindex_lock():
        with transaction.atomic(using="default"):
            outbox.lock()
            leftovers = indexes.forget_unfinished()
        discarded = indexes.drop_indexes(leftovers)
        with transaction.atomic(using="default"):
            outbox.lock()
            version = indexes.create_version(IndexState.BUILDING)
        try:
            done = _fill(version.name, chunk_size, on_progress)
            elasticsearch_client().indices.refresh(index=version.name)
            with transaction.atomic(using="default"):
                outbox.lock()
                replaced = indexes.swap_alias(version)
        except BaseException:
            _discard(version)
            raise
    return ReindexResult(
        index=version.name,
        rows=done,
        dropped=indexes.drop_indexes(replaced),
        discarded=discarded,
    )


@contextmanager
def _reindex_lock() -> Iterator[None]:
    key = [_REINDEX_LOCK_SPACE, connection.schema_name]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", key)
        if not cursor.fetchone()[0]:
            raise ReindexRunning(connection.schema_name)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", key)


def _discard(version: IndexVersion) -> None:
    """Forget a version that never went live, then drop its index; best effort, as the
    caller raises what made it fail, and the next reindex drops whatever is left (say, with
    Elasticsearch unreachable). The record goes first, under the drain lock, so that no drain
    writes to the index once it is dropped (a write would create it again, unmapped). An
    index the alias names after all (a swap that failed once the alias had moved) is kept:
    drains write to it through the alias, and the next reindex records it as live."""
    try:
        with transaction.atomic(using="default"):
            outbox.lock()
            IndexVersion.objects.filter(pk=version.pk).delete()
        if version.name not in indexes.behind_alias():
            indexes.drop_index(version.name)
    except (DatabaseError, TransportError, ApiError):
        logger.warning(
            "left the unfinished index %s to the next reindex", version.name, exc_info=True
        )


def _fill(index: str, chunk_size: int, on_progress) -> int:
    """Stream every row into `index`; the next chunk is read and built while Elasticsearch
    indexes the one before."""
    total = loading.count_rows()
    done = 0
    pending: tuple[Future, list[int]] | None = None
    with ThreadPoolExecutor(max_workers=1) as sender:
        for chunk in loading.all_rows(chunk_size=chunk_size):
            body = bulk.index_operations(index, chunk, create_only=True)
            if pending:
                done += _settle(index, *pending)
                if on_progress:
                    on_progress(done, max(total, done))
            pending = (sender.submit(bulk.send, body), [row["id"] for row in chunk])
        if pending:
            done += _settle(index, *pending)
            if on_progress:
                on_progress(done, max(total, done))
    return done


def _settle(index: str, sent: Future, ids: list[int]) -> int:
    """Wait for a chunk and keep the rows Elasticsearch refused; then delete the rows of it
    that were deleted since they were read (the drainer may already have deleted them, and
    the create put them back)."""
    refused = sent.result()
    outbox.record_refusals(refused, written=set(ids) - set(refused))
    gone = set(ids) - loading.existing_ids(ids)
    if gone:
        bulk.send(bulk.index_operations(index, [], deleted_ids=sorted(gone)))
    return len(ids)
