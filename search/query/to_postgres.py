"""compile_to_postgres: a checked query tree to a Q for `DataRow.objects.filter(...)`.

It must select exactly the rows that compile_to_elasticsearch selects (the property test in
tests/search/test_backends_agree.py holds both to it). Conditions on metadata and attributes
are SQL/JSON paths run with `@?`, which the GIN jsonb_path_ops index serves for equality;
lax mode looks into arrays (and into arrays of objects along the path) as the query language
does. A path is sent as a query parameter, never written into the SQL.
"""

from __future__ import annotations

import datetime
import functools
import json
import math
import operator
from collections.abc import Iterable

from django.apps import apps
from django.db import models
from django.db.models import BooleanField, F, Func, OuterRef, Q, Value

from search.query.days import day_bounds, midnight
from search.query.tree import (
    And,
    Compare,
    Comparison,
    Contains,
    Exists,
    Field,
    FieldKind,
    Group,
    GroupKind,
    In,
    Literal,
    Node,
    Not,
    Or,
    TextMatch,
)

# A field's column on the model of its scope (DataRow, Annotation or Prediction); a field
# two groups share (class, area) has one column name in both.
_COLUMNS = {
    "external_id": "external_id",
    "dataset": "dataset_id",
    "width": "width",
    "height": "height",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "metadata": "metadata",
    "class": "class_name",
    "source": "source",
    "type": "geometry_type",
    "area": "area",
    "attributes": "attributes",
    "model": "model_version__model__name",
    "version": "model_version__version",
    "score": "score",
    "rank": "rank",
    "eval": "eval",
    "iou": "iou",
}
_INTEGER_COLUMNS = frozenset({"width", "height", "model_version__version", "rank"})
# The model each group looks into, by name: search/ sits below the apps and never imports
# them.
_GROUP_MODELS = {
    GroupKind.LABEL: ("datasets", "Annotation"),
    GroupKind.PREDICTION: ("predictions", "Prediction"),
}

_LOOKUPS = {
    Comparison.EQ: "exact",
    Comparison.LT: "lt",
    Comparison.LE: "lte",
    Comparison.GT: "gt",
    Comparison.GE: "gte",
}
_NOTHING = Q(pk__in=[])

# A date in JSON: a string that begins with YYYY-MM-DD (documents.JSON_DATE).
_JSON_DATE = '@ like_regex "^[0-9]{4}-[0-9]{2}-[0-9]{2}"'


class _PathExists(Func):
    """`json_column @? 'path'::jsonpath`."""

    arg_joiner = " @? "
    template = "(%(expressions)s::jsonpath)"
    output_field = BooleanField()


def compile_to_postgres(node: Node | None) -> Q:
    """The filter that selects the rows `node` describes; None selects every row."""
    return Q() if node is None else _compile(node)


def _compile(node: Node) -> Q:
    match node:
        case And(children):
            return _all(_compile(c) for c in children)
        case Or(children):
            return _any(_compile(c) for c in children)
        case Not(child):
            return ~_compile(child)
        case Group(kind, condition):
            members = apps.get_model(*_GROUP_MODELS[kind]).objects.filter(data_row=OuterRef("pk"))
            if condition is not None:
                members = members.filter(_compile(condition))
            return Q(models.Exists(members))
        case In(field, values, negated):
            if field.kind is FieldKind.TAGS:
                equal_to_any = Q(tags__overlap=list(values))
            else:
                equal_to_any = _any(_compare(field, Comparison.EQ, v) for v in values)
            return ~equal_to_any if negated else equal_to_any
        case Compare(field, Comparison.NE, value):
            return ~_compare(field, Comparison.EQ, value)
        case Compare(field, op, value):
            return _compare(field, op, value)
        case Contains(field, value):
            return Q(tags__contains=[value])
        case Exists(field):
            return _json_path(field, None)
        case TextMatch(field, words):
            return _text_match(field, words)
    raise AssertionError(f"not a query node: {node!r}")


def _all(qs: Iterable[Q]) -> Q:
    return functools.reduce(operator.and_, qs)


def _any(qs: Iterable[Q]) -> Q:
    return functools.reduce(operator.or_, qs)


def _compare(field: Field, op: Comparison, value: Literal) -> Q:
    column = _COLUMNS[field.name]
    match field.kind:
        case FieldKind.JSON:
            condition = _json_condition(op, value)
            return _NOTHING if condition is None else _json_path(field, condition)
        case FieldKind.DATETIME if not isinstance(value, datetime.datetime):
            return _whole_days(column, op, value)
        case FieldKind.DATASET:
            assert isinstance(value, int) and not isinstance(value, bool), "resolve names first"
        case FieldKind.NUMBER:
            return _number_compare(column, op, value)
    return Q(**{f"{column}__{_LOOKUPS[op]}": value})


def _number_compare(column: str, op: Comparison, value: int | float) -> Q:
    if column in _INTEGER_COLUMNS and isinstance(value, float):
        # Django would truncate the float (width = 10.5 would find 10): round the bound the
        # way that keeps the comparison exact. A bound beyond the column's range Django
        # settles itself, as true or false for every row.
        if op is Comparison.EQ and not value.is_integer():
            return _NOTHING
        value = math.ceil(value) if op in (Comparison.LT, Comparison.GE) else math.floor(value)
    # A comparison holds only where the column has a value, said explicitly: Django lets
    # NOT select the NULLs of a column declared nullable only (the generated `area` is not
    # declared so), and a bound it settles as true would select them too.
    return Q(**{f"{column}__isnull": False}) & Q(**{f"{column}__{_LOOKUPS[op]}": value})


def _whole_days(column: str, op: Comparison, day: datetime.date) -> Q:
    days = day_bounds(op, day)
    if days is None:
        return _NOTHING
    first, after = days
    bounds = {f"{column}__isnull": False}  # never empty: ~Q() would select every row
    if first is not None:
        bounds[f"{column}__gte"] = midnight(first)
    if after is not None:
        bounds[f"{column}__lt"] = midnight(after)
    return Q(**bounds)


# --- SQL/JSON paths -------------------------------------------------------------------------


def _json_path(field: Field, condition: str | None) -> Q:
    """Some value at the field's path (`metadata."camera"."lens id"`) satisfies `condition`
    (a jsonpath predicate on `@`); with no condition, the path exists."""
    path = "$" + "".join("." + _string(key) for key in field.path)
    if condition:
        path += f" ? ({condition})"
    return Q(_PathExists(F(_COLUMNS[field.name]), Value(path)))


def _json_condition(op: Comparison, value: Literal) -> str | None:
    """A jsonpath predicate on `@`, or None where nothing can match."""
    # Each value is matched alone: the type check keeps lax mode from unwrapping an array
    # held in an array (["a", ["b"]] holds "a" but not "b" at its path). bool before number
    # (a bool is an int), and a date literal compares with date-shaped strings, by day.
    if isinstance(value, bool):
        return f'@.type() == "boolean" && @ == {"true" if value else "false"}'
    if isinstance(value, datetime.date):
        days = day_bounds(op, value)
        if days is None:
            return None
        first, after = days
        condition = f'@.type() == "string" && {_JSON_DATE}'
        if first is not None:
            condition += f" && @ >= {_string(first.isoformat())}"
        if after is not None:
            condition += f" && @ < {_string(after.isoformat())}"
        return condition
    if isinstance(value, str):
        return f'@.type() == "string" && @ {_jsonpath_op(op)} {_string(value)}'
    return f'@.type() == "number" && @ {_jsonpath_op(op)} {_number(value)}'


def _jsonpath_op(op: Comparison) -> str:
    return "==" if op is Comparison.EQ else op.value


def _string(text: str) -> str:
    """A jsonpath string literal: JSON's escapes are jsonpath's."""
    return json.dumps(text, ensure_ascii=False)


def _number(value: int | float) -> str:
    # repr: the shortest text that reads back as the same double (1e-07, 1e+20).
    return str(value) if isinstance(value, int) else repr(value)


# --- words ----------------------------------------------------------------------------------


def _text_match(field: Field, words: tuple[str, ...]) -> Q:
    """Every word in one string value, as a word: between non-alphanumerics or the ends."""
    patterns = [_word_pattern(w) for w in words]
    match field.kind:
        case FieldKind.TEXT:
            # Every string anywhere, arrays held in arrays included (documents.py indexes
            # those for `text` alone).
            path = f"$.** ? ({_holds_words(patterns)})"
            return Q(_PathExists(F("metadata"), Value(path)))
        case FieldKind.JSON:
            return _json_path(field, _holds_words(patterns))
    column = _COLUMNS[field.name]
    return _all(Q(**{f"{column}__iregex": p}) for p in patterns)


def _holds_words(patterns: list[str]) -> str:
    matches = (f'@ like_regex {_string(p)} flag "i"' for p in patterns)
    return " && ".join(('@.type() == "string"', *matches))


def _word_pattern(word: str) -> str:
    # Words are runs of letters and digits (tree.words_of), lower-cased: no ASCII
    # punctuation, so no regex metacharacter, and nothing to escape.
    assert word and all(ch.isalnum() or not ch.isascii() for ch in word), word
    return f"(^|[^[:alnum:]]){word}([^[:alnum:]]|$)"
