"""A snapshot's row ids: written once, when it is frozen, then read by its pages (after an id)
and by the jobs that take its rows (all at once, or in batches from a position). Every reader
of a snapshot's ids comes here.

Each read is a short query for a few blocks through one of the block table's unique indexes:
a page costs the same at a snapshot's end as at its start, whatever its size, and a job
streaming ten million ids holds one batch and one read of blocks, with no query left open
for the whole stream. Blocks are read from the database their snapshot was read from: they
are committed with it, so wherever it is seen, they are too.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from django.db import connections, router
from django.db.models import QuerySet

from apps.slices import id_blocks
from apps.slices.models import SliceSnapshot, SnapshotBlock

# The blocks a stream reads at once: 64 Ki ids, half a megabyte decoded.
_BLOCKS_PER_READ = 64
_COPY = (
    f"COPY {SnapshotBlock._meta.db_table} (snapshot_id, start, first_id, last_id, count, deltas)"
    " FROM STDIN"
)


def store(snapshot: SliceSnapshot, blocks: list[id_blocks.Block]) -> None:
    """Write the snapshot's blocks (id_blocks.blocks_of), in one COPY, in the caller's
    transaction."""
    connection = connections[router.db_for_write(SnapshotBlock)]
    with connection.cursor() as cursor, cursor.cursor.copy(_COPY) as copy:
        for b in blocks:
            copy.write_row((snapshot.pk, b.start, b.first_id, b.last_id, b.count, b.deltas))


def page_after(snapshot: SliceSnapshot, *, after: int | None, limit: int) -> np.ndarray:
    """Up to `limit` of the snapshot's ids after the id `after` (from its first without it),
    in order. Reads the blocks whose last id is past `after`, as many as `limit` needs."""
    after = -1 if after is None else after
    parts, found = [], 0
    while found < limit:
        # The first block may hold a single id past `after`.
        reads = 1 + math.ceil((limit - found) / id_blocks.BLOCK_IDS)
        rows = list(
            _blocks(snapshot)
            .filter(last_id__gt=after)
            .order_by("last_id")
            .values_list("first_id", "count", "deltas")[:reads]
        )
        for first_id, count, deltas in rows:
            ids = id_blocks.decode(first_id, count, deltas)
            ids = ids[np.searchsorted(ids, after, side="right") :]
            parts.append(ids)
            found += len(ids)
            after = int(ids[-1])
        if len(rows) < reads:
            break
    return np.concatenate(parts)[:limit] if parts else np.empty(0, dtype=np.int64)


def batches(
    snapshot: SliceSnapshot, *, size: int, start: int = 0
) -> Iterator[tuple[int, np.ndarray]]:
    """The snapshot's ids from position `start` on, `size` at a time (the last batch may be
    shorter), each with the position of its first id."""
    pending, position = np.empty(0, dtype=np.int64), start
    for run in _runs_from(snapshot, start):
        pending = np.concatenate((pending, run))
        while len(pending) >= size:
            yield position, pending[:size]
            pending, position = pending[size:], position + size
    if len(pending):
        yield position, pending


def all_ids(snapshot: SliceSnapshot) -> np.ndarray:
    """Every id of the snapshot, sorted, as one int64 array (8 bytes an id)."""
    runs = list(_runs_from(snapshot, 0))
    return np.concatenate(runs) if runs else np.empty(0, dtype=np.int64)


def _runs_from(snapshot: SliceSnapshot, position: int) -> Iterator[np.ndarray]:
    """The snapshot's ids from `position` on, in runs of up to _BLOCKS_PER_READ blocks."""
    blocks = _blocks(snapshot)
    first = (
        blocks.filter(start__lte=position).order_by("-start").values_list("start", flat=True)
    ).first()
    if first is None:
        return
    skip, next_start = position - first, first
    while True:
        rows = list(
            blocks.filter(start__gte=next_start)
            .order_by("start")
            .values_list("start", "first_id", "count", "deltas")[:_BLOCKS_PER_READ]
        )
        if not rows:
            return
        run = np.concatenate([id_blocks.decode(f, c, d) for _, f, c, d in rows])[skip:]
        skip = 0
        if len(run):
            yield run
        if len(rows) < _BLOCKS_PER_READ:
            return
        last_start, _, last_count, _ = rows[-1]
        next_start = last_start + last_count


def _blocks(snapshot: SliceSnapshot) -> QuerySet[SnapshotBlock]:
    return SnapshotBlock.objects.using(snapshot._state.db).filter(snapshot_id=snapshot.pk)
