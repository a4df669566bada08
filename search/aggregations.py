"""Facet counts in a tenant's index: the aggregations that count, among the rows a query
matches, the rows holding each value of a field, and the reading of Elasticsearch's answer
(docs/facets.md).

A count is of rows, never of nested objects. Annotations, predicted objects and metadata
entries are nested documents (mapping.py): a value's `terms` bucket collects them, and a
`reverse_nested` inside it counts the rows they belong to, which also orders the buckets. A
row's `tags` are a field of the row itself, so their buckets count rows as they are. Every
index has one shard (mapping.py), so no bucket is cut short by another shard's: the counts,
the top buckets and `other` are all exact.

The value types that Postgres and these buckets share, and their order, live here too, so
apps/slices/facets.py answers in the same shape whichever backend counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from search.query.tree import key_path


class FacetKind(StrEnum):
    LABEL_CLASS = "label.class"  # the class of an annotation
    PREDICTION_CLASS = "prediction.class"  # the class of a predicted object
    TAGS = "tags"
    METADATA = "metadata"  # the scalar values at one key path of the metadata


@dataclass(frozen=True)
class FacetField:
    """A field to count the values of. `path` is a metadata field's key path, one string per
    level, as tree.Field holds it."""

    kind: FacetKind
    path: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The key path as the index stores it (documents.py)."""
        return key_path(self.path)


@dataclass(frozen=True)
class PredictedBy:
    """Counts `prediction.class` over one model's predicted objects (one version's, with
    `version`) instead of every model's."""

    model: str
    version: int | None = None


FacetValue = str | int | float | bool


@dataclass(frozen=True)
class Bucket:
    value: FacetValue
    count: int  # rows
    held: int  # what `other` counts: annotations, predicted objects, entries; rows for tags


@dataclass(frozen=True)
class Facet:
    buckets: tuple[Bucket, ...]
    # The `held` of every value beyond the buckets listed (docs/facets.md).
    other: int


# Strings first, then numbers, then booleans, where counts tie.
_TYPE_RANKS = {str: 0, int: 1, float: 1, bool: 2}


def bucket_order(bucket: Bucket) -> tuple:
    """Most rows first, then by value (strings by code point, numbers, false before true);
    the order of both backends."""
    return (-bucket.count, _TYPE_RANKS[type(bucket.value)], bucket.value)


# Integers a double holds exactly are written as integers, on both backends: 5, not 5.0.
_EXACT_INTEGERS = 2**53


def number_value(number: float) -> int | float:
    if number.is_integer() and abs(number) < _EXACT_INTEGERS:
        return int(number)
    return number


# Most rows, then the smallest value: `_key` orders keywords by UTF-8 bytes, which is the
# order of code points.
_BY_ROWS = [{"rows": "desc"}, {"_key": "asc"}]
_BY_COUNT = [{"_count": "desc"}, {"_key": "asc"}]
# The typed fields of a metadata entry (mapping._json_entries) that facets count. A date is
# also a string, and a key without a value (null, an object, an array) is no value.
_ENTRY_TYPES = ("str", "num", "bool")


def facet_aggregations(
    fields: Sequence[FacetField], *, size: int, predicted_by: PredictedBy | None
) -> dict:
    """The `aggs` of a search that counts the top `size` values of each field, named by
    position (a field's name may hold characters an aggregation's name cannot)."""
    return {
        f"f{i}": _aggregation(field, size=size, predicted_by=predicted_by)
        for i, field in enumerate(fields)
    }


def _aggregation(field: FacetField, *, size: int, predicted_by: PredictedBy | None) -> dict:
    match field.kind:
        case FacetKind.TAGS:
            return {"terms": {"field": "tags", "size": size, "order": _BY_COUNT}}
        case FacetKind.LABEL_CLASS:
            return _nested("annotations", {"values": _row_terms("annotations.class", size)})
        case FacetKind.PREDICTION_CLASS:
            values = {"values": _row_terms("predictions.class", size)}
            if predicted_by is None:
                return _nested("predictions", values)
            return _nested("predictions", _within(_predicted_by(predicted_by), values))
        case FacetKind.METADATA:
            typed = {kind: _row_terms(f"metadata.{kind}", size) for kind in _ENTRY_TYPES}
            return _nested("metadata", _within({"term": {"metadata.key": field.key}}, typed))
    raise AssertionError(f"not a facet kind: {field.kind!r}")


def _nested(path: str, aggs: dict) -> dict:
    return {"nested": {"path": path}, "aggs": aggs}


def _within(query: dict, aggs: dict) -> dict:
    return {"within": {"filter": query, "aggs": aggs}}


def _row_terms(name: str, size: int) -> dict:
    """The values of a nested field, each bucket counting the rows that hold it."""
    return {
        "terms": {"field": name, "size": size, "order": _BY_ROWS},
        "aggs": {"rows": {"reverse_nested": {}}},
    }


def _predicted_by(scope: PredictedBy) -> dict:
    terms = [{"term": {"predictions.model": scope.model}}]
    if scope.version is not None:
        terms.append({"term": {"predictions.version": scope.version}})
    return {"bool": {"filter": terms}}


def read_facets(aggregations: dict, fields: Sequence[FacetField], *, size: int) -> list[Facet]:
    """The facets of `fields`, in their order, from the answer to facet_aggregations."""
    return [_read(field, aggregations[f"f{i}"], size) for i, field in enumerate(fields)]


def _read(field: FacetField, answer: dict, size: int) -> Facet:
    match field.kind:
        case FacetKind.TAGS:
            buckets = [Bucket(b["key"], b["doc_count"], b["doc_count"]) for b in answer["buckets"]]
            return Facet(tuple(buckets), answer["sum_other_doc_count"])
        case FacetKind.METADATA:
            return _merged([(kind, answer["within"][kind]) for kind in _ENTRY_TYPES], size)
    inside = answer.get("within", answer)  # `within` where predicted_by narrows them
    return _merged([("str", inside["values"])], size)


def _merged(answers: list[tuple[str, dict]], size: int) -> Facet:
    """One facet from the terms of a field's values of each type (`str`, `num`, `bool`):
    the top `size` of them all. Each answer holds its own top `size`, so the top of all is
    among them, and what it leaves out joins `other`."""
    buckets = sorted(
        (
            Bucket(_value(kind, b["key"]), b["rows"]["doc_count"], b["doc_count"])
            for kind, answer in answers
            for b in answer["buckets"]
        ),
        key=bucket_order,
    )
    other = sum(a["sum_other_doc_count"] for _, a in answers)
    return Facet(tuple(buckets[:size]), other + sum(b.held for b in buckets[size:]))


def _value(kind: str, key: str | float | int) -> FacetValue:
    if kind == "bool":  # a boolean's key is 1 or 0
        return key == 1
    return number_value(float(key)) if kind == "num" else key
