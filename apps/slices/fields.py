"""The searchable fields of a tenant: the built-ins, the fields of a label group and of a
prediction group, and the metadata keys seen (from Elasticsearch's index, or from the newest
rows in Postgres)."""

from __future__ import annotations

from django.db import connection
from elasticsearch import ApiError, TransportError

from search import elastic
from search.query.checks import PREDICTION_FIELDS
from search.query.tree import FieldKind, key_path

_OPERATORS = {
    FieldKind.STRING: ["=", "!=", "IN", "NOT IN", "~"],
    FieldKind.NUMBER: ["=", "!=", "<", "<=", ">", ">=", "IN", "NOT IN"],
    FieldKind.DATETIME: ["=", "!=", "<", "<=", ">", ">=", "IN", "NOT IN"],
    FieldKind.DATASET: ["=", "!=", "IN", "NOT IN"],
    FieldKind.TAGS: ["CONTAINS", "IN", "NOT IN"],
    FieldKind.JSON: ["=", "!=", "<", "<=", ">", ">=", "IN", "NOT IN", "EXISTS", "~"],
    FieldKind.TEXT: ["~"],
}
_ROW_FIELDS = [
    ("external_id", FieldKind.STRING),
    ("dataset", FieldKind.DATASET),
    ("width", FieldKind.NUMBER),
    ("height", FieldKind.NUMBER),
    ("created_at", FieldKind.DATETIME),
    ("updated_at", FieldKind.DATETIME),
    ("tags", FieldKind.TAGS),
    ("text", FieldKind.TEXT),
]
_LABEL_FIELDS = [
    ("class", FieldKind.STRING),
    ("area", FieldKind.NUMBER),
    ("source", FieldKind.STRING),
    ("type", FieldKind.STRING),
    ("attributes.<key>", FieldKind.JSON),
]
# As the query language checks them, so the list cannot fall behind it.
_PREDICTION_FIELDS = [(spec.name, spec.kind) for spec in PREDICTION_FIELDS.values()]
# The newest rows whose metadata keys Postgres lists when Elasticsearch cannot.
SAMPLE_ROWS = 10_000
_KEYS_SQL = """
WITH RECURSIVE entries(path, value) AS (
    SELECT ARRAY[e.key], e.value
    FROM (SELECT metadata FROM datasets_datarow ORDER BY id DESC LIMIT %s) AS r,
         jsonb_each(CASE jsonb_typeof(r.metadata) WHEN 'object' THEN r.metadata ELSE '{}' END) e
    UNION ALL
    SELECT entries.path || e.key, e.value
    FROM entries,
         jsonb_each(CASE jsonb_typeof(entries.value) WHEN 'object' THEN entries.value
                    ELSE '{}' END) e
)
SELECT path, array_agg(DISTINCT jsonb_typeof(value)), count(*)
FROM entries GROUP BY path ORDER BY count(*) DESC, path LIMIT %s
"""
_JSON_TYPES = {"string": "string", "number": "number", "boolean": "boolean"}


def _described(fields, scope: str) -> list[dict]:
    return [
        {"name": name, "kind": kind.value, "scope": scope, "operators": _OPERATORS[kind]}
        for name, kind in fields
    ]


def searchable_fields(*, limit: int = 1000) -> dict:
    """What a client needs to build queries: every field, its operators, and the metadata
    keys in use with the value types seen for each."""
    source, keys = "elasticsearch", None
    if elastic.available():
        try:
            keys = elastic.metadata_keys(limit=limit)
        except (TransportError, ApiError):
            keys = None
    if keys is None:
        source, keys = "postgres", _keys_from_postgres(limit)
    metadata = [
        {
            "name": f"metadata.{entry['key']}",
            "kind": FieldKind.JSON.value,
            "scope": "row",
            "types": entry["types"],
            "operators": _OPERATORS[FieldKind.JSON],
        }
        for entry in keys
    ]
    return {
        "fields": _described(_ROW_FIELDS, "row") + metadata,
        "label_fields": _described(_LABEL_FIELDS, "label"),
        "prediction_fields": _described(_PREDICTION_FIELDS, "prediction"),
        "metadata_keys_from": source,
    }


def _keys_from_postgres(limit: int) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(_KEYS_SQL, [SAMPLE_ROWS, limit])
        rows = cursor.fetchall()
    return [
        {
            "key": key_path(path),
            "types": sorted({_JSON_TYPES[t] for t in types if t in _JSON_TYPES}),
        }
        for path, types, _ in rows
    ]
