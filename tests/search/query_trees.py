"""Trees and helpers shared by the query-language tests."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from search.query.errors import QueryError
from search.query.parser import parse_query
from search.query.tree import (
    Compare,
    Comparison,
    Field,
    FieldKind,
    Group,
    GroupKind,
    Node,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "query-language.md"
UTC = datetime.UTC

WIDTH = Field("width", FieldKind.NUMBER)
HEIGHT = Field("height", FieldKind.NUMBER)
TAGS = Field("tags", FieldKind.TAGS)
TEXT = Field("text", FieldKind.TEXT)
CREATED = Field("created_at", FieldKind.DATETIME)
DATASET = Field("dataset", FieldKind.DATASET)
CLASS = Field("class", FieldKind.STRING)
AREA = Field("area", FieldKind.NUMBER)
EXTERNAL_ID = Field("external_id", FieldKind.STRING)
UPDATED = Field("updated_at", FieldKind.DATETIME)
MODEL = Field("model", FieldKind.STRING)
VERSION = Field("version", FieldKind.NUMBER)
SCORE = Field("score", FieldKind.NUMBER)
EVAL = Field("eval", FieldKind.STRING)
IOU = Field("iou", FieldKind.NUMBER)


def meta(*path: str) -> Field:
    return Field("metadata", FieldKind.JSON, path)


def attrs(*path: str) -> Field:
    return Field("attributes", FieldKind.JSON, path)


def at(*fields: int, offset_minutes: int = 0) -> datetime.datetime:
    """An aware datetime in a fixed offset, as the parser builds them."""
    zone = datetime.timezone(datetime.timedelta(minutes=offset_minutes))
    return datetime.datetime(*fields, tzinfo=zone)


def label(condition: Node | None) -> Group:
    return Group(GroupKind.LABEL, condition)


def prediction(condition: Node | None) -> Group:
    return Group(GroupKind.PREDICTION, condition)


def w(op: str, value: int) -> Compare:
    return Compare(WIDTH, Comparison(op), value)


def assert_same(actual: Node | None, expected: Node | None) -> None:
    # == alone would take True for 1 and 1.0 for 1, and instants in different offsets as
    # equal; the reprs tell them apart.
    assert actual == expected
    assert repr(actual) == repr(expected)


def error_of(query: str) -> QueryError:
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    return caught.value
