"""compile_to_elasticsearch: a checked query tree to the query clause of a search of one
tenant's data-row index (search/mapping.py, search/documents.py).

Everything runs in filter context: results are sorted by id, so scores would be wasted.
Metadata, annotations, attributes and predictions are nested: a condition on one of them
matches within one entry (one key path's value, one annotation, one predicted object), never
across two.
"""

from __future__ import annotations

import datetime

from elasticsearch_dsl import Q
from elasticsearch_dsl.query import Query

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

_RANGE = {
    Comparison.LT: "lt",
    Comparison.LE: "lte",
    Comparison.GT: "gt",
    Comparison.GE: "gte",
}

# What a `date_nanos` field can hold; a bound beyond it is refused, so it is settled here.
_FIRST_INSTANT = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_LAST_INSTANT = datetime.datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=datetime.UTC)

# The nested array of the row document that each group looks into (search/documents.py).
_GROUP_PATHS = {GroupKind.LABEL: "annotations", GroupKind.PREDICTION: "predictions"}
# String fields whose values are single lower-case words (the choices in search/query/
# checks.py): a value holds every word of a pattern when it is every word.
_ONE_WORD_FIELDS = frozenset({"source", "type", "eval"})
_ALL = Q("match_all")
_NONE = Q("match_none")


def compile_to_elasticsearch(node: Node | None) -> dict:
    """The query clause that selects the rows `node` describes; None selects every row."""
    if node is None:
        return _ALL.to_dict()
    return Q("bool", filter=[_compile(node, "")]).to_dict()


def _compile(node: Node, prefix: str) -> Query:
    """`prefix` is where the fields of the node's scope live: "" for the row,
    "annotations." inside a label group, "predictions." inside a prediction group."""
    match node:
        case And(children):
            return Q("bool", filter=[_compile(c, prefix) for c in children])
        case Or(children):
            return Q("bool", should=[_compile(c, prefix) for c in children], minimum_should_match=1)
        case Not(child):
            return Q("bool", must_not=[_compile(child, prefix)])
        case Group(kind, condition):
            path = _GROUP_PATHS[kind]
            inside = _ALL if condition is None else _compile(condition, f"{path}.")
            return Q("nested", path=path, query=inside)
        case In(field, values, negated):
            equal_to_any = Q(
                "bool",
                should=[_compare(field, Comparison.EQ, v, prefix) for v in values],
                minimum_should_match=1,
            )
            return Q("bool", must_not=[equal_to_any]) if negated else equal_to_any
        case Compare(field, Comparison.NE, value):
            return Q("bool", must_not=[_compare(field, Comparison.EQ, value, prefix)])
        case Compare(field, op, value):
            return _compare(field, op, value, prefix)
        case Contains(field, value):
            return Q("term", **{prefix + field.name: value})
        case Exists(field):
            return _json(field, prefix, [])
        case TextMatch(field, words):
            return _text_match(field, words, prefix)
    raise AssertionError(f"not a query node: {node!r}")


def _compare(field: Field, op: Comparison, value: Literal, prefix: str) -> Query:
    name = prefix + field.name
    match field.kind:
        case FieldKind.JSON:
            return _json(field, prefix, [_json_value(name, op, value)])
        case FieldKind.DATETIME:
            return _instants(name, op, value)
        case FieldKind.DATASET:
            assert isinstance(value, int) and not isinstance(value, bool), "resolve names first"
    return _term_or_range(name, op, value)  # a string, a number or a dataset id


def _term_or_range(name: str, op: Comparison, value: Literal) -> Query:
    if isinstance(value, float):
        value += 0.0  # -0.0 is 0.0: Lucene orders them apart, Postgres does not
    if op is Comparison.EQ:
        return Q("term", **{name: value})
    return Q("range", **{name: {_RANGE[op]: value}})


def _json(field: Field, prefix: str, conditions: list[Query]) -> Query:
    """One entry of the field's nested key/value array, at the field's path, satisfying all
    `conditions`. Keys are written as the query writes them (documents.py does the same)."""
    path = prefix + field.name
    entry = Q("bool", filter=[Q("term", **{f"{path}.key": field.key}), *conditions])
    return Q("nested", path=path, query=entry)


def _json_value(path: str, op: Comparison, value: Literal) -> Query:
    """A condition on the value of an entry of the nested array at `path`."""
    # Types are strict: each has its own field. bool before number (a bool is an int), and
    # a date literal compares with the strings that begin with a date, by day.
    if isinstance(value, bool):
        return Q("term", **{f"{path}.bool": value})
    if isinstance(value, datetime.date):
        days = day_bounds(op, value)
        if days is None:
            return _NONE
        bounds = {
            k: d.isoformat() for k, d in zip(("gte", "lt"), days, strict=True) if d is not None
        }
        field = f"{path}.date"
        return Q("range", **{field: bounds}) if bounds else Q("exists", field=field)
    return _term_or_range(f"{path}.str" if isinstance(value, str) else f"{path}.num", op, value)


def _instants(name: str, op: Comparison, value: Literal) -> Query:
    """created_at / updated_at: a datetime is that instant, a date that whole UTC day."""
    if isinstance(value, datetime.datetime):
        bounds = [("gte", value), ("lte", value)] if op is Comparison.EQ else [(_RANGE[op], value)]
    else:
        days = day_bounds(op, value)
        if days is None:
            return _NONE
        first, after = days
        bounds = [] if first is None else [("gte", midnight(first))]
        bounds += [] if after is None else [("lt", midnight(after))]
    kept = {}
    for bound, instant in bounds:
        if _FIRST_INSTANT <= instant <= _LAST_INSTANT:
            # Every digit written: Elasticsearch fills the ones a `lte` or `gt` bound leaves
            # out with nines (..:00 would mean ..:00.999999999).
            kept[bound] = instant.astimezone(datetime.UTC).isoformat(timespec="microseconds")
        # Every stored instant lies within what date_nanos holds, and Elasticsearch refuses
        # a bound outside it: such a bound holds for every row, or for none.
        elif (bound in ("lt", "lte")) != (instant > _LAST_INSTANT):
            return _NONE
    return Q("range", **{name: kept}) if kept else _ALL


def _text_match(field: Field, words: tuple[str, ...], prefix: str) -> Query:
    """Every word in one string value. documents.py stores each string's words (as
    tree.words_of splits them) beside it: `<field>_words`, or `words` in a JSON entry."""
    match field.kind:
        case FieldKind.TEXT:
            entry = Q("bool", filter=[Q("term", **{"metadata.words": w}) for w in words])
            return Q("nested", path="metadata", query=entry)
        case FieldKind.JSON:
            path = prefix + field.name
            return _json(field, prefix, [Q("term", **{f"{path}.words": w}) for w in words])
    name = prefix + field.name
    if field.name in _ONE_WORD_FIELDS:
        return Q("bool", filter=[Q("term", **{name: w}) for w in words])
    return Q("bool", filter=[Q("term", **{f"{name}_words": w}) for w in words])
