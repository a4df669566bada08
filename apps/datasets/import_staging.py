"""An import's batches, staged ahead of its writer: parsed, checked and turned into COPY
lines (importers/copy_lines.py) while the database writes the batch before.

Where they are staged (IMPORT_PROCESSES, the cores available by default):
- in that many processes, forked for the import (staging_process.py), for a format whose
  records are found for little beside reading them (JSONL: its lines). Each process finds
  every record of the file and reads (parses and checks) only those of its own batches,
  every Nth; the batches are merged back in file order.
- in one process, for the other formats, and for every format with IMPORT_PROCESSES=1;
- on a thread of the worker with IMPORT_PROCESSES=0, and always for a ZIP, whose staging
  stores its images and tells the run (in this process) which it stored.

Whichever way, the batches and their order are the same: the first `skip` records
(committed by an interrupted run) as CommittedBatches of their rows' external_ids, then
StagedBatches of IMPORT_BATCH_SIZE records each.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings

from apps.datasets.importers.copy_lines import CommittedBatch, StagedBatch, stage_batch
from apps.datasets.importers.records import ParsedRow, RowError
from apps.datasets.media import StoredMedia
from apps.datasets.read_ahead import read_ahead
from apps.datasets.staging_process import staged_in_processes
from loupe.storage.files import overwrite
from loupe.storage_quota import StorageBudget

Batch = StagedBatch | CommittedBatch
# Where a batch falls in the file's: (0, n) the nth CommittedBatch, (1, n) the nth StagedBatch.
Position = tuple[int, int]


@dataclass(frozen=True)
class Shard:
    """The staged batches one process makes: the `index`th of every `count` (the first
    also names the committed records' ids)."""

    index: int = 0
    count: int = 1


def staged_ahead(
    importer,
    *,
    stores_media: bool,
    skip: int,
    media_prefix: str,
    media: StoredMedia | None,
    storage: StorageBudget | None,
) -> Iterator[Batch]:
    """The importer's batches, in order, staged ahead where IMPORT_PROCESSES says. Close it
    when stopping early: the staging processes are killed then."""
    depth = settings.IMPORT_READ_AHEAD_BATCHES
    processes = settings.IMPORT_PROCESSES

    def batches(records: Iterable, **sharding) -> Iterator[tuple[Position, Batch]]:
        return positioned_batches(
            records,
            skip=skip,
            batch_size=settings.IMPORT_BATCH_SIZE,
            media_prefix=media_prefix,
            media=media,
            storage=storage,
            **sharding,
        )

    if processes == 0 or stores_media:
        return read_ahead((batch for _, batch in batches(importer.iter_records())), depth=depth)
    if processes == 1 or not hasattr(importer, "iter_unread"):
        return staged_in_processes([batches(importer.iter_records())], depth=depth)
    shards = [
        batches(importer.iter_unread(), read=importer.read, shard=Shard(index, processes))
        for index in range(processes)
    ]
    return staged_in_processes(shards, depth=depth)


def staged_batches(records: Iterable[ParsedRow | RowError], **options) -> Iterator[Batch]:
    """positioned_batches' batches alone, all of them: staging on one core."""
    return (batch for _, batch in positioned_batches(records, **options))


def positioned_batches(
    records: Iterable,
    *,
    skip: int,
    batch_size: int,
    media_prefix: str,
    media: StoredMedia | None = None,
    storage: StorageBudget | None = None,
    read: Callable[[Any], ParsedRow | RowError] | None = None,
    shard: Shard = Shard(),
) -> Iterator[tuple[Position, Batch]]:
    """The records after the first `skip` (committed by an earlier, interrupted run), in
    batches staged for COPY, their media moved into storage under `media_prefix` (and
    named to `media`, which settles them as their rows commit), each taken from `storage`
    first (QuotaReached when it has no room); before them, the skipped rows' external_ids,
    for the run to know them again. Each with its position among the file's batches.

    With `read`, `records` are found but unread, and only the `shard`'s batches are read
    (a format with no media files: the other records are passed by untouched). Never
    touches the database: it runs ahead of the commits, on a thread or in a process."""
    committed: list[tuple[str, int | str]] = []
    committed_batches = 0
    batch: list[ParsedRow | RowError] = []
    number = 0
    for index, record in enumerate(records):
        if index < skip:
            if shard.index != 0:
                continue
            if read is not None:
                record = read(record)
            _discard_media(record)
            if isinstance(record, ParsedRow):
                committed.append((record.external_id, record.line))
            if len(committed) >= batch_size or index == skip - 1:
                yield (0, committed_batches), CommittedBatch(committed)
                committed_batches += 1
                committed = []
            continue
        number = (index - skip) // batch_size
        if number % shard.count != shard.index:
            continue
        if read is not None:
            record = read(record)
        batch.append(_with_stored_media(record, media_prefix, media, storage))
        if len(batch) >= batch_size:
            yield (1, number), stage_batch(batch)
            batch = []
    if batch:
        yield (1, number), stage_batch(batch)


def _with_stored_media(
    record: ParsedRow | RowError,
    media_prefix: str,
    media: StoredMedia | None,
    storage: StorageBudget | None,
) -> ParsedRow | RowError:
    """Move an extracted media file into storage under the tenant's prefix (a fixed name per
    dataset and entry, so a resumed import overwrites rather than duplicates)."""
    if not isinstance(record, ParsedRow) or record.media_file is None:
        return record
    if storage is not None:
        storage.take(os.path.getsize(record.media_file))
    with open(record.media_file, "rb") as handle:
        stored = overwrite(media_prefix + record.media_uri, handle)
    if media is not None:
        media.stored(stored)
    os.unlink(record.media_file)
    return replace(record, media_uri=stored, media_file=None)


def _discard_media(record) -> None:
    if isinstance(record, ParsedRow) and record.media_file:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(record.media_file)
