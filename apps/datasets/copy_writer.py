"""The streaming COPY writer: a batch of staged rows into Postgres in a few statements.

Rows, as `importers.copy_lines` stages them, are COPYed into a temporary staging table and
upserted by (dataset, external_id): rows whose content digest is unchanged are left alone,
so re-importing a file changes nothing. The annotations of created and changed rows are then
replaced by a second COPY straight into the annotation table. A batch that Postgres refuses
is retried in halves, down to the rows it refuses, so one bad row is reported and never takes
its batch down with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg
from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone

from apps.datasets.importers.copy_lines import StagedRow
from apps.datasets.importers.records import RowError

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
        updated_ids = [row_id for row_id, _, inserted in written if not inserted]
        if updated_ids:
            cursor.execute(
                "DELETE FROM datasets_annotation WHERE data_row_id = ANY(%s)", [updated_ids]
            )
        by_external_id = {item.row.external_id: item for item in staged}
        now = timezone.now().isoformat()
        lines = [
            f"{row_id}\t{fields}\t{now}\t{now}\n"
            for row_id, external_id, _ in written
            for fields in by_external_id[external_id].annotations
        ]
        if lines:
            with raw.copy(_COPY_ANNOTATIONS) as copy:
                copy.write("".join(lines))
    created = sum(1 for *_, inserted in written if inserted)
    return created, len(written) - created


def write_batch(*, dataset_id: int, rows: Sequence[StagedRow]) -> BatchResult:
    """Upsert staged `rows` into the dataset. Call inside a transaction (the staging table
    empties on commit). Rows Postgres refuses come back as errors; the others are written."""
    result = BatchResult()
    _write_or_split(dataset_id, rows, result)
    return result


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
            result.errors.append(RowError(rows[0].row.line, None, message))
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
