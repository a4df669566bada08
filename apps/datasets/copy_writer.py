"""The streaming COPY writer: a batch of parsed rows into Postgres in a few statements.

Rows are COPYed into a temporary staging table, then upserted by (dataset, external_id):
rows whose content digest is unchanged are left alone, so re-importing a file changes
nothing; the annotations of created and changed rows are replaced from the staging table in
the same statement. A batch that Postgres refuses as a whole is retried row by row, so one
bad row is reported and never takes its batch down with it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import DataError, IntegrityError, connection, transaction
from psycopg.types.json import Jsonb

from apps.datasets.importers.records import ParsedRow, RowError

_STAGE_COLUMNS = [
    "external_id",
    "media_uri",
    "width",
    "height",
    "metadata",
    "tags",
    "content_hash",
    "annotations",
]
_STAGE_TYPES = ["text", "text", "int4", "int4", "jsonb", "text[]", "text", "jsonb"]

_CREATE_STAGE = """
CREATE TEMPORARY TABLE IF NOT EXISTS import_stage (
    external_id text, media_uri text, width int4, height int4, metadata jsonb, tags text[],
    content_hash text, annotations jsonb
) ON COMMIT DELETE ROWS
"""

_UPSERT = """
WITH up AS (
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
    RETURNING r.id, r.external_id, (r.xmax = 0) AS inserted
),
dropped AS (
    DELETE FROM datasets_annotation WHERE data_row_id IN (SELECT id FROM up WHERE NOT inserted)
),
added AS (
    INSERT INTO datasets_annotation (data_row_id, class_name, geometry_type, geometry,
                                     attributes, source, created_at, updated_at)
    SELECT up.id, a->>'class_name', a->>'geometry_type', a->'geometry', a->'attributes',
           a->>'source', now(), now()
    FROM up
    JOIN import_stage s ON s.external_id = up.external_id
    CROSS JOIN LATERAL jsonb_array_elements(s.annotations) AS a
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
"""


@dataclass
class BatchResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


def _annotations(row: ParsedRow) -> list[dict]:
    return [
        {
            "class_name": a.class_name,
            "geometry_type": str(a.geometry_type),
            "geometry": a.geometry,
            "attributes": a.attributes,
            "source": str(a.source),
        }
        for a in row.annotations
    ]


def content_hash(row: ParsedRow, annotations: list[dict]) -> str:
    body = [row.media_uri, row.width, row.height, row.metadata, list(row.tags), annotations]
    encoded = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.md5(encoded, usedforsecurity=False).hexdigest()


def _unique_by_external_id(rows: Sequence[ParsedRow]) -> tuple[list[ParsedRow], list[RowError]]:
    seen: dict[str, int | str] = {}
    unique, errors = [], []
    for row in rows:
        if row.external_id in seen:
            errors.append(
                RowError(
                    row.line,
                    "external_id",
                    f"{row.external_id!r} repeats the row at {seen[row.external_id]}",
                )
            )
            continue
        seen[row.external_id] = row.line
        unique.append(row)
    return unique, errors


def _stage_and_upsert(dataset_id: int, rows: Sequence[ParsedRow]) -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(_CREATE_STAGE)
        cursor.execute("TRUNCATE import_stage")
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        with raw.copy(f"COPY import_stage ({', '.join(_STAGE_COLUMNS)}) FROM STDIN") as copy:
            copy.set_types(_STAGE_TYPES)
            for row in rows:
                annotations = _annotations(row)
                copy.write_row(
                    (
                        row.external_id,
                        row.media_uri,
                        row.width,
                        row.height,
                        Jsonb(row.metadata),
                        list(row.tags),
                        content_hash(row, annotations),
                        Jsonb(annotations),
                    )
                )
        cursor.execute(_UPSERT, {"dataset": dataset_id})
        created, updated = cursor.fetchone()
    return created, updated


def write_batch(*, dataset_id: int, rows: Sequence[ParsedRow]) -> BatchResult:
    """Upsert `rows` into the dataset. Call inside a transaction (the staging table empties
    on commit). Rows Postgres refuses come back as errors; the others are written."""
    unique, errors = _unique_by_external_id(rows)
    result = BatchResult(errors=errors)
    if not unique:
        return result
    try:
        with transaction.atomic():
            created, updated = _stage_and_upsert(dataset_id, unique)
    except (DataError, IntegrityError, ValueError):
        return _row_by_row(dataset_id, unique, result)
    result.created, result.updated = created, updated
    result.unchanged = len(unique) - created - updated
    return result


def _row_by_row(dataset_id: int, rows: Sequence[ParsedRow], result: BatchResult) -> BatchResult:
    for row in rows:
        try:
            with transaction.atomic():
                created, updated = _stage_and_upsert(dataset_id, [row])
        except (DataError, IntegrityError, ValueError) as exc:
            result.errors.append(
                RowError(row.line, None, f"the database refused the row: {_first_line(exc)}")
            )
            continue
        result.created += created
        result.updated += updated
        result.unchanged += 1 - created - updated
    return result


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
