"""Reading data rows, with their annotations and predictions, in the shape index documents
are built from.

Plain SQL over the datasets tables, one statement per chunk, with JSON parsed by orjson: this
is the hot loop of indexing millions of rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import orjson
from django.db import connections

_SELECT = """
SELECT r.id, r.dataset_id, d.project_id, r.external_id, r.width, r.height,
       r.metadata::text, r.tags, r.created_at, r.updated_at,
       (SELECT json_agg(json_build_object(
            'class_name', a.class_name, 'geometry_type', a.geometry_type, 'area', a.area,
            'attributes', a.attributes, 'source', a.source) ORDER BY a.id)
        FROM datasets_annotation a WHERE a.data_row_id = r.id)::text,
       (SELECT json_agg(json_build_object(
            'model', m.name, 'version', v.version, 'class_name', p.class_name, 'score', p.score,
            'rank', p.rank, 'area', p.area, 'eval', p.eval, 'iou', p.iou) ORDER BY p.id)
        FROM predictions_prediction p
        JOIN training_modelversion v ON v.id = p.model_version_id
        JOIN training_model m ON m.id = v.model_id
        WHERE p.data_row_id = r.id)::text
FROM datasets_datarow r JOIN datasets_dataset d ON d.id = r.dataset_id
"""
_COLUMNS = (
    "id",
    "dataset_id",
    "project_id",
    "external_id",
    "width",
    "height",
    "metadata",
    "tags",
    "created_at",
    "updated_at",
    "annotations",
    "predictions",
)


def _record(values: tuple) -> dict:
    record = dict(zip(_COLUMNS, values, strict=True))
    record["metadata"] = _parsed(record["metadata"])
    for nested in ("annotations", "predictions"):
        record[nested] = _parsed(record[nested]) if record[nested] else []
    return record


def _parsed(text: str):
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        # orjson refuses numbers beyond a double (jsonb keeps them); json reads them.
        return json.loads(text)


def rows_by_id(ids: Sequence[int], *, using: str = "default") -> list[dict]:
    """The rows among `ids` that exist, in no particular order."""
    with connections[using].cursor() as cursor:
        cursor.execute(_SELECT + "WHERE r.id = ANY(%s)", [list(ids)])
        return [_record(values) for values in cursor.fetchall()]


def all_rows(*, chunk_size: int, using: str = "default") -> Iterator[list[dict]]:
    """Every row of the tenant, in id order, a chunk at a time (keyset paging: no long
    transaction, and rows written meanwhile are simply seen or not)."""
    last_id = 0
    while True:
        with connections[using].cursor() as cursor:
            cursor.execute(
                _SELECT + "WHERE r.id > %s ORDER BY r.id LIMIT %s", [last_id, chunk_size]
            )
            chunk = [_record(values) for values in cursor.fetchall()]
        if not chunk:
            return
        yield chunk
        last_id = chunk[-1]["id"]


def count_rows(*, using: str = "default") -> int:
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM datasets_datarow")
        return cursor.fetchone()[0]


def existing_ids(ids: Sequence[int], *, using: str = "default") -> set[int]:
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT id FROM datasets_datarow WHERE id = ANY(%s)", [list(ids)])
        return {row_id for (row_id,) in cursor.fetchall()}
