"""Data rows as the API renders them (DataRowSerializer's shape, key for key), built by
Postgres in one query: a page of search results is sent on as Postgres wrote it (an
`orjson.Fragment` a row, which loupe.api.renderers writes as it is), with no model object,
serializer or JSON parsing per row and annotation. tests/slices/test_rendered_rows.py holds
it to the serializer's output."""

from __future__ import annotations

import orjson
from django.db import connections

from loupe.db.router import read_alias


def _timestamp(column: str) -> str:
    """A timestamp as DRF writes one: ISO 8601 in UTC with a Z, microseconds only if any."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"CASE WHEN date_part('microseconds', {column})::int %% 1000000 = 0 "
        f"""THEN to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') """
        f"""ELSE to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END"""
    )


_ROWS_SQL = f"""
SELECT r.id, json_build_object(
    'id', r.id,
    'dataset', r.dataset_id,
    'external_id', r.external_id,
    'media_uri', r.media_uri,
    'width', r.width,
    'height', r.height,
    'metadata', r.metadata,
    'tags', to_json(r.tags),
    'annotations', COALESCE(
        (SELECT json_agg(json_build_object(
            'id', a.id,
            'data_row', a.data_row_id,
            'class_name', a.class_name,
            'geometry_type', a.geometry_type,
            'geometry', a.geometry,
            'attributes', a.attributes,
            'source', a.source,
            'area', a.area,
            'created_at', {_timestamp("a.created_at")},
            'updated_at', {_timestamp("a.updated_at")}
        ) ORDER BY a.id) FROM datasets_annotation a WHERE a.data_row_id = r.id),
        '[]'::json),
    'created_at', {_timestamp("r.created_at")},
    'updated_at', {_timestamp("r.updated_at")}
)::text
FROM datasets_datarow r
WHERE r.id = ANY(%s)
"""


def rendered_rows(ids: list[int]) -> list[orjson.Fragment]:
    """The rows of `ids` in that order, rendered, with their annotations. Read from the
    replica; rows it has not replayed yet are read from the primary; rows deleted meanwhile
    are left out."""
    alias = read_alias()
    found = _read(alias, ids)
    missing = [i for i in ids if i not in found]
    if missing and alias != "default":
        found |= _read("default", missing)
    return [found[i] for i in ids if i in found]


def _read(alias: str, ids: list[int]) -> dict[int, orjson.Fragment]:
    if not ids:
        return {}
    with connections[alias].cursor() as cursor:
        cursor.execute(_ROWS_SQL, [ids])
        return {row_id: orjson.Fragment(rendered) for row_id, rendered in cursor.fetchall()}
