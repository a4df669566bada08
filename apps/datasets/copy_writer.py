"""The streaming COPY writer: a batch of staged rows into Postgres in a few statements.

Rows, as `importers.copy_lines` stages them, are COPYed into a temporary staging table and
upserted by (dataset, external_id): rows whose content digest is unchanged are left alone,
so re-importing a file changes nothing. The annotations of created and changed rows are then
replaced by a second COPY straight into the annotation table. The upsert queues each row it
writes for indexing, once: the annotations' changes add no entries of their own. A batch
that Postgres refuses is retried in halves, down to the rows it refuses, so one bad row is
reported and never takes its batch down with it.

An import's run remembers the external_ids its batches have named (`SeenRows`), so a row
that repeats one of an earlier batch is an error, as one that repeats one of its own batch
is: in a temporary table of the database session, so a file of millions of rows costs the
worker no memory.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg
from django.db import DatabaseError, DataError, IntegrityError, connection, transaction
from django.utils import timezone

from apps.datasets.importers.copy_lines import StagedRow
from apps.datasets.importers.records import RowError
from search import triggers

_CREATE_STAGE = """
CREATE TEMPORARY TABLE IF NOT EXISTS import_stage (
    external_id text, media_uri text, width int4, height int4, metadata jsonb, tags text[],
    content_hash text
) ON COMMIT DELETE ROWS
"""
_COPY_STAGE = (
    "COPY import_stage (external_id, media_uri, width, height, metadata, tags, content_hash) "
    "FROM STDIN"
)
_UPSERT = """
INSERT INTO datasets_datarow AS r
    (dataset_id, external_id, media_uri, width, height, metadata, tags, content_hash,
     created_at, updated_at)
SELECT %(dataset)s, external_id, media_uri, width, height, metadata, tags, content_hash,
       now(), now()
FROM import_stage AS s
-- Rows brought again unchanged are left out here, not at the conflict: ON CONFLICT DO UPDATE
-- would lock (and so write) every row it matches, even those its WHERE then leaves alone.
WHERE NOT EXISTS (
    SELECT FROM datasets_datarow AS same
    WHERE same.dataset_id = %(dataset)s AND same.external_id = s.external_id
      AND same.content_hash = s.content_hash
)
ON CONFLICT (dataset_id, external_id) DO UPDATE SET
    media_uri = EXCLUDED.media_uri, width = EXCLUDED.width, height = EXCLUDED.height,
    metadata = EXCLUDED.metadata, tags = EXCLUDED.tags,
    content_hash = EXCLUDED.content_hash, updated_at = now()
WHERE r.content_hash IS DISTINCT FROM EXCLUDED.content_hash
RETURNING r.id, r.external_id, (r.xmax = 0)
"""
_COPY_ANNOTATIONS = (
    "COPY datasets_annotation (data_row_id, class_name, geometry_type, geometry, attributes, "
    "source, created_at, updated_at) FROM STDIN"
)
# What Postgres raises for a row it will not store: through Django's cursor, or straight
# from psycopg during COPY.
_REFUSED = (DataError, IntegrityError, ValueError, psycopg.DataError, psycopg.IntegrityError)


@dataclass
class BatchResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


def _write(dataset_id: int, staged: Sequence[StagedRow]) -> tuple[int, int]:
    """Stage, upsert and replace annotations; (created, updated)."""
    with connection.cursor() as cursor:
        cursor.execute(_CREATE_STAGE)
        cursor.execute("TRUNCATE import_stage")
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        with raw.copy(_COPY_STAGE) as copy:
            copy.write("".join(item.line + "\n" for item in staged))
        cursor.execute(_UPSERT, {"dataset": dataset_id})
        written = cursor.fetchall()
        # The upsert queued every row it wrote for indexing: their annotations' changes need
        # no entries of their own (search/triggers.py). Set for the two statements below, in
        # this transaction only (a rollback undoes it too).
        cursor.execute("SELECT set_config(%s, 'on', true)", [triggers.ROWS_QUEUED])
        updated_ids = [row_id for row_id, _, inserted in written if not inserted]
        if updated_ids:
            cursor.execute(
                "DELETE FROM datasets_annotation WHERE data_row_id = ANY(%s)", [updated_ids]
            )
        by_external_id = {item.external_id: item for item in staged}
        now = timezone.now().isoformat()
        lines = [
            f"{row_id}\t{fields}\t{now}\t{now}\n"
            for row_id, external_id, _ in written
            for fields in by_external_id[external_id].annotations
        ]
        if lines:
            with raw.copy(_COPY_ANNOTATIONS) as copy:
                copy.write("".join(lines))
        cursor.execute("SELECT set_config(%s, 'off', true)", [triggers.ROWS_QUEUED])
    created = sum(1 for *_, inserted in written if inserted)
    return created, len(written) - created


def write_batch(
    *, dataset_id: int, rows: Sequence[StagedRow], seen: SeenRows | None = None
) -> BatchResult:
    """Upsert staged `rows` into the dataset. Call inside a transaction (the staging table
    empties on commit). Rows Postgres refuses come back as errors; the others are written.
    With `seen`, the run's earlier batches: a row whose external_id one of them named is an
    error too, and the others are remembered there (forgotten if the transaction rolls
    back)."""
    result = BatchResult()
    if seen is not None:
        first_lines = seen.add([(item.external_id, item.source_line) for item in rows])
        for item in rows:
            if (first := first_lines.get(item.external_id)) is not None:
                message = f"{item.external_id!r} repeats the row at {first}"
                result.errors.append(RowError(item.source_line, "external_id", message))
        rows = [item for item in rows if item.external_id not in first_lines]
    _write_or_split(dataset_id, rows, result)
    return result


_CREATE_SEEN = """
CREATE TEMPORARY TABLE IF NOT EXISTS import_seen (
    external_id text COLLATE "C" PRIMARY KEY, line text NOT NULL
)
"""


class SeenRows:
    """The external_ids one run of an import has named so far, each with the line that
    first named it, in a temporary table of the run's database session: emptied when the
    run starts (the worker's session outlives its imports), dropped when it ends. A run
    resumed after an interruption is a new one: it adds the ids of the records committed
    before (`import_runs.staged_batches` yields them)."""

    def __enter__(self) -> SeenRows:
        with connection.cursor() as cursor:
            cursor.execute(_CREATE_SEEN)
            cursor.execute("TRUNCATE import_seen")
        return self

    def __exit__(self, *exc) -> None:
        # On its way out after a lost connection, the session and its table are gone.
        with contextlib.suppress(DatabaseError, psycopg.Error), connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS import_seen")

    def add(self, ids: Sequence[tuple[str, int | str]]) -> dict[str, str]:
        """Remembers each (external_id, line) not named before; the first line of each
        external_id that was. An id Postgres cannot hold (a NUL, a lone surrogate) is left
        out: its row is refused when written."""
        new = {}
        for external_id, line in ids:
            if _storable(external_id):
                new.setdefault(external_id, line)
        if not new:
            return {}
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT external_id, line FROM import_seen WHERE external_id = ANY(%s)",
                [list(new)],
            )
            earlier = dict(cursor.fetchall())
            with cursor.cursor.copy("COPY import_seen (external_id, line) FROM STDIN") as copy:
                for external_id, line in new.items():
                    if external_id not in earlier:
                        copy.write_row((external_id, str(line)))
        return earlier


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _write_or_split(dataset_id: int, rows: Sequence[StagedRow], result: BatchResult) -> None:
    """Writes the rows in one go; if Postgres refuses them, writes each half the same way, so
    a few bad rows among thousands cost a few dozen attempts, not one per row."""
    if not rows:
        return
    try:
        with transaction.atomic():
            created, updated = _write(dataset_id, rows)
    except _REFUSED as exc:
        if len(rows) == 1:
            message = f"the database refused the row: {_first_line(exc)}"
            result.errors.append(RowError(rows[0].source_line, None, message))
            return
        half = len(rows) // 2
        _write_or_split(dataset_id, rows[:half], result)
        _write_or_split(dataset_id, rows[half:], result)
        return
    result.created += created
    result.updated += updated
    result.unchanged += len(rows) - created - updated


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
