"""The streaming COPY writer: a batch of parsed rows into Postgres in a few statements.

Rows are COPYed into a temporary staging table and upserted by (dataset, external_id): rows
whose content digest is unchanged are left alone, so re-importing a file changes nothing.
The annotations of created and changed rows are then replaced by a second COPY straight into
the annotation table. COPY lines are built here as text (the fastest path through psycopg).
A batch that Postgres refuses as a whole is retried row by row, so one bad row is reported
and never takes its batch down with it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson
import psycopg
from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone

from apps.datasets.importers.records import ParsedRow, RowError

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
FROM import_stage
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
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"


@dataclass
class BatchResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


def _text(value: str | None) -> str:
    return _NULL if value is None else value.translate(_ESCAPES)


def _number(value: int | None) -> str:
    return _NULL if value is None else str(int(value))


def _array(values: Sequence[str]) -> str:
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return _text("{" + ",".join(quoted) + "}")


def _dumps(value) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


@dataclass(frozen=True)
class _StagedRow:
    row: ParsedRow
    line: str  # the COPY line for the staging table
    annotations: list[tuple[str, str, str, str, str]]  # COPY fields after data_row_id


def _staged(row: ParsedRow) -> _StagedRow:
    metadata = _dumps(row.metadata)
    annotations = [
        (
            _text(a.class_name),
            str(a.geometry_type),
            _NULL if a.geometry is None else _text(_dumps(a.geometry)),
            _text(_dumps(a.attributes)),
            str(a.source),
        )
        for a in row.annotations
    ]
    # Encoded as one JSON array, so no choice of values can make two rows digest alike.
    digest_input = orjson.dumps(
        [row.media_uri, row.width, row.height, metadata, list(row.tags), annotations]
    )
    digest = hashlib.md5(digest_input, usedforsecurity=False).hexdigest()
    line = "\t".join(
        [
            _text(row.external_id),
            _text(row.media_uri),
            _number(row.width),
            _number(row.height),
            _text(metadata),
            _array(row.tags),
            digest,
        ]
    )
    return _StagedRow(row, line, annotations)


def _unique_by_external_id(rows: Sequence[ParsedRow]) -> tuple[list[ParsedRow], list[RowError]]:
    seen: dict[str, int | str] = {}
    unique, errors = [], []
    for row in rows:
        if row.external_id in seen:
            first = seen[row.external_id]
            errors.append(
                RowError(row.line, "external_id", f"{row.external_id!r} repeats the row at {first}")
            )
            continue
        seen[row.external_id] = row.line
        unique.append(row)
    return unique, errors


def _write(dataset_id: int, staged: Sequence[_StagedRow]) -> tuple[int, int]:
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
            f"{row_id}\t{chr(9).join(fields)}\t{now}\t{now}\n"
            for row_id, external_id, _ in written
            for fields in by_external_id[external_id].annotations
        ]
        if lines:
            with raw.copy(_COPY_ANNOTATIONS) as copy:
                copy.write("".join(lines))
    created = sum(1 for *_, inserted in written if inserted)
    return created, len(written) - created


def write_batch(*, dataset_id: int, rows: Sequence[ParsedRow]) -> BatchResult:
    """Upsert `rows` into the dataset. Call inside a transaction (the staging table empties
    on commit). Rows Postgres refuses come back as errors; the others are written."""
    unique, errors = _unique_by_external_id(rows)
    result = BatchResult(errors=errors)
    if not unique:
        return result
    staged = []
    for row in unique:
        try:
            staged.append(_staged(row))
        except (TypeError, ValueError) as exc:  # e.g. an integer beyond 64 bits
            result.errors.append(RowError(row.line, None, f"the row cannot be stored: {exc}"))
    if not staged:
        return result
    try:
        with transaction.atomic():
            created, updated = _write(dataset_id, staged)
    except _REFUSED:
        return _row_by_row(dataset_id, staged, result)
    result.created, result.updated = created, updated
    result.unchanged = len(staged) - created - updated
    return result


def _row_by_row(dataset_id: int, staged: Sequence[_StagedRow], result: BatchResult) -> BatchResult:
    for item in staged:
        try:
            with transaction.atomic():
                created, updated = _write(dataset_id, [item])
        except _REFUSED as exc:
            message = f"the database refused the row: {_first_line(exc)}"
            result.errors.append(RowError(item.row.line, None, message))
            continue
        result.created += created
        result.updated += updated
        result.unchanged += 1 - created - updated
    return result


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
