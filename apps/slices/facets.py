"""Facets: among the rows a query matches, how many rows hold each value of a field, the most
frequent values first (docs/facets.md).

Counted by the backend a search would use, with the same rules (apps/slices/searching.py):
Elasticsearch aggregates over the tenant's index (search/aggregations.py); Postgres counts
the rows themselves here, in one query per field. Both give the same buckets for the same
rows: a count is of rows in both (a row holding ten cars counts once under `car`), ties
are broken by value in the same order (aggregations.bucket_order), and Postgres leaves out
what the index does not hold (strings longer than it indexes, numbers beyond a double).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connections
from django.db.models import CharField, F, Func, JSONField, QuerySet, Value

from apps.datasets.models import Annotation, DataRow
from apps.predictions.models import Prediction
from apps.slices.errors import SliceErrorCode

# The search's own rules for choosing and leaving a backend: facets follow them exactly.
from apps.slices.searching import (
    ELASTICSEARCH_ERRORS,
    Backend,
    backend_for,
    fall_back,
    index_pending,
)
from loupe.api.errors import ApiError
from loupe.db.router import read_alias
from search import elastic
from search.aggregations import (
    Bucket,
    Facet,
    FacetField,
    FacetKind,
    PredictedBy,
    facet_aggregations,
    number_value,
    read_facets,
)
from search.mapping import MAX_TERM_CHARS
from search.query.errors import QueryError, QueryErrorCode
from search.query.parser import parse_query
from search.query.to_elasticsearch import compile_to_elasticsearch
from search.query.to_postgres import compile_to_postgres
from search.query.tree import Exists, Field, Node

MAX_FIELDS = 20
MAX_SIZE = 100
_NAMED = {
    kind.value: FacetField(kind)
    for kind in (FacetKind.LABEL_CLASS, FacetKind.PREDICTION_CLASS, FacetKind.TAGS)
}
FACETABLE = [*_NAMED, "metadata.<key>"]


@dataclass(frozen=True)
class FacetCounts:
    backend: Backend
    total: int  # the rows the query matches, exactly
    facets: dict[str, list[Bucket]]  # by field name, as asked
    other: dict[str, int]
    index_pending: bool = False  # as for a search: Elasticsearch may miss the newest changes


def facet_fields(names: Sequence[str]) -> dict[str, FacetField]:
    """The fields `names` ask for, by name (a name asked twice counts once). Raises ApiError
    (400, field_not_facetable) naming each field that facets cannot count."""
    fields, problems = {}, []
    for name in dict.fromkeys(names):
        found = _NAMED.get(name) or _metadata_field(name)
        if isinstance(found, FacetField):
            fields[name] = found
        else:
            problems.append(f"{name}: {found}")
    if problems:
        raise ApiError(
            status=400,
            code=SliceErrorCode.FIELD_NOT_FACETABLE,
            detail=f"Facets count {', '.join(FACETABLE)}; not {'; '.join(problems)}.",
            fields={"fields": problems},
        )
    return fields


def _metadata_field(name: str) -> FacetField | str:
    """A metadata key path, written as a query writes it (`metadata.camera."lens id"`): the
    query parser reads it, so a facet and a query never disagree on quoting. Otherwise, what
    is wrong with the name."""
    if not name.startswith("metadata"):
        return "not a field that facets count"
    try:
        node = parse_query(f"{name} EXISTS")
    except QueryError as error:
        if error.code is QueryErrorCode.UNKNOWN_FIELD:  # `metadata` alone
            return error.message
        node = None
    match node:
        case Exists(Field(name="metadata", path=path)):
            return FacetField(FacetKind.METADATA, path)
    return 'write metadata.<key>, quoting a key that is not a plain name: metadata."lens id"'


def facets(
    *,
    node: Node | None,
    fields: dict[str, FacetField],
    size: int,
    predicted_by: PredictedBy | None,
    backend: Backend,
) -> FacetCounts:
    """The top `size` values of each field among the rows `node` matches, with the exact
    total. Raises ApiError (503) when Elasticsearch was asked for by name and cannot answer,
    as a search does."""
    served, indexed = backend_for(backend)
    if not indexed:  # Elasticsearch asked for before the tenant's first row is indexed
        return _counts(served, 0, fields, [Facet((), 0)] * len(fields), index_pending())
    listed = list(fields.values())
    if served == Backend.ELASTICSEARCH:
        try:
            found = elastic.aggregate(
                compile_to_elasticsearch(node),
                facet_aggregations(listed, size=size, predicted_by=predicted_by),
            )
        except ELASTICSEARCH_ERRORS as exc:
            served = fall_back(backend, exc)
        else:
            counted = read_facets(found.aggregations, listed, size=size)
            return _counts(served, found.total, fields, counted, index_pending())
    total, counted = _count_in_postgres(node, listed, size=size, predicted_by=predicted_by)
    return _counts(served, total, fields, counted, False)


def _counts(
    backend: Backend,
    total: int,
    fields: dict[str, FacetField],
    counted: list[Facet],
    index_pending: bool,
) -> FacetCounts:
    return FacetCounts(
        backend=backend,
        total=total,
        facets={name: list(f.buckets) for name, f in zip(fields, counted, strict=True)},
        other={name: f.other for name, f in zip(fields, counted, strict=True)},
        index_pending=index_pending,
    )


# --- Postgres -------------------------------------------------------------------------------

# The values of one field as (row_id, value) pairs, one per value held (a row's ten cars are
# ten pairs), come from the ORM (_pairs); these count them. `held` is what `other` sums: an
# annotation, a predicted object or a metadata value each, but a row for a tag, as the index
# counts them.
_VALUE_COUNTS = """
SELECT value, count(DISTINCT row_id) AS row_count, {held} AS held, sum({held}) OVER ()
FROM ({pairs}) AS pairs (row_id, value)
WHERE value IS NOT NULL
GROUP BY value
ORDER BY row_count DESC, value COLLATE "C"
LIMIT %s
"""
# A metadata value is a string, a number or a boolean, each in its own column; the index
# (documents.py) holds no string longer than MAX_TERM_CHARS and no number beyond a double.
# CASE, unlike AND, runs its tests in order, so a string is never cast to a number.
_METADATA_COUNTS = """
SELECT s, n, b, count(DISTINCT row_id) AS row_count, count(*) AS held, sum(count(*)) OVER ()
FROM (SELECT row_id,
          CASE WHEN jsonb_typeof(v) = 'string' THEN
              CASE WHEN length(v #>> '{{}}') <= {max_chars} THEN v #>> '{{}}' END END AS s,
          CASE WHEN jsonb_typeof(v) = 'number' THEN
              CASE WHEN abs(v::numeric) <= 1.7976931348623157e308 THEN v::float8 END END AS n,
          CASE WHEN jsonb_typeof(v) = 'boolean' THEN v::boolean END AS b
      FROM ({pairs}) AS pairs (row_id, v)) AS typed
WHERE num_nonnulls(s, n, b) = 1
GROUP BY s, n, b
ORDER BY row_count DESC, s IS NULL, s COLLATE "C", n IS NULL, n, b
LIMIT %s
"""
# The scalars at a key path, array elements one by one: the lax-mode path and type test of
# search/query/to_postgres.py, so a facet's values are those `metadata.<key> = v` finds.
_SCALARS = ' ? (@.type() == "string" || @.type() == "number" || @.type() == "boolean")'


class _PathValues(Func):
    """`jsonb_path_query(json_column, 'path'::jsonpath)`: one row per value found."""

    template = "jsonb_path_query(%(expressions)s::jsonpath)"
    output_field = JSONField()


class _Unnest(Func):
    function = "unnest"
    output_field = CharField()


def _count_in_postgres(
    node: Node | None,
    fields: list[FacetField],
    *,
    size: int,
    predicted_by: PredictedBy | None,
) -> tuple[int, list[Facet]]:
    alias = read_alias()
    rows = DataRow.objects.using(alias).filter(compile_to_postgres(node))
    counted = []
    with connections[alias].cursor() as cursor:
        for field in fields:
            pairs = _pairs(field, rows, alias, narrowed=node is not None, predicted_by=predicted_by)
            pairs_sql, params = pairs.query.get_compiler(using=alias).as_sql()
            if field.kind is FacetKind.METADATA:
                sql = _METADATA_COUNTS.format(pairs=pairs_sql, max_chars=MAX_TERM_CHARS)
            else:
                held = "count(DISTINCT row_id)" if field.kind is FacetKind.TAGS else "count(*)"
                sql = _VALUE_COUNTS.format(pairs=pairs_sql, held=held)
            cursor.execute(sql, [*params, size])
            counted.append(_facet(cursor.fetchall()))
    return rows.count(), counted


def _pairs(
    field: FacetField,
    rows: QuerySet[DataRow],
    alias: str,
    *,
    narrowed: bool,
    predicted_by: PredictedBy | None,
) -> QuerySet:
    """(row id, value) for each value of `field` that the matching `rows` hold. `narrowed`:
    the query matches fewer than every row, so annotations and predictions are filtered by
    their row (every one of them is some row's otherwise)."""
    match field.kind:
        case FacetKind.TAGS:
            return rows.annotate(value=_Unnest(F("tags"))).values_list("pk", "value")
        case FacetKind.METADATA:
            path = "$" + "".join(f".{_jsonpath_string(key)}" for key in field.path) + _SCALARS
            values = _PathValues(F("metadata"), Value(path))
            return rows.annotate(value=values).values_list("pk", "value")
        case FacetKind.LABEL_CLASS:
            owned = Annotation.objects.using(alias)
        case FacetKind.PREDICTION_CLASS:
            owned = Prediction.objects.using(alias)
            if predicted_by is not None:
                owned = owned.filter(model_version__model__name=predicted_by.model)
                if predicted_by.version is not None:
                    owned = owned.filter(model_version__version=predicted_by.version)
    if narrowed:
        owned = owned.filter(data_row__in=rows.values("pk"))
    return owned.values_list("data_row_id", "class_name")


def _jsonpath_string(key: str) -> str:
    """A key as a jsonpath string literal, as search/query/to_postgres.py writes one: JSON's
    escapes are jsonpath's."""
    return json.dumps(key, ensure_ascii=False)


def _facet(found: list[tuple]) -> Facet:
    """Rows of _VALUE_COUNTS (value, rows, held, every value's held) or of _METADATA_COUNTS
    (the value in one of three columns), in bucket order."""
    buckets = tuple(Bucket(_value(row[:-3]), row[-3], int(row[-2])) for row in found)
    held_in_all = int(found[0][-1]) if found else 0
    return Facet(buckets, held_in_all - sum(b.held for b in buckets))


def _value(columns: tuple) -> str | int | float | bool:
    if len(columns) == 1:
        return columns[0]
    text, number, boolean = columns
    if text is not None:
        return text
    return boolean if number is None else number_value(number)
