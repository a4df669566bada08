"""Hypothesis strategies for random, valid query trees (search/query/tree.py).

`queries()` yields trees the parser could have produced: flattened And/Or of two or more
children, operators and literals that fit their field, label(...) groups holding annotation
fields only and prediction(...) groups prediction fields only, text patterns already split
into words. Give it the keys, tags, class names, model names, dataset ids and values of the
data under test, and the random queries will hit that data; leave a pool out (None) and it
draws arbitrary values, which suits syntax tests.

    @given(queries(metadata_paths=[("camera",), ("lens", "mm")], tags=["night", "rain"]))
    def test_backends_agree(tree): ...
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from search.query.render import render_query
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
    words_of,
)

T = TypeVar("T")

# Characters any string literal may hold: the parser refuses NUL and lone surrogates.
STRING_CHARACTERS = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
ORDERING = (Comparison.LT, Comparison.LE, Comparison.GT, Comparison.GE)
EQUALITY = (Comparison.EQ, Comparison.NE)


def strings(max_size: int = 12) -> SearchStrategy[str]:
    """Any string the language can write, escapes and all."""
    return st.text(STRING_CHARACTERS, max_size=max_size)


def keys() -> SearchStrategy[str]:
    """A metadata / attributes key: mostly plain names, sometimes ones that need quotes."""
    return st.one_of(st.from_regex(r"[a-z_][a-z0-9_]{0,7}", fullmatch=True), strings(8))


def numbers() -> SearchStrategy[int | float]:
    return st.one_of(
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
    )


def days() -> SearchStrategy[datetime.date]:
    return st.dates(datetime.date(1, 1, 1), datetime.date(9999, 12, 31))


def instants() -> SearchStrategy[datetime.datetime]:
    """Aware datetimes with whole-minute offsets, as the language writes them; kept a day
    away from the ends of the calendar so that every one has a UTC equivalent."""
    offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(
        lambda m: datetime.timezone(datetime.timedelta(minutes=m))
    )
    # fold only matters for zones that repeat an hour; the parser always leaves it 0.
    return st.datetimes(
        datetime.datetime(1, 1, 2),
        datetime.datetime(9999, 12, 30),
        timezones=offsets,
    ).map(lambda d: d.replace(fold=0))


def writable_literal(value: object) -> bool:
    """Whether the language can write `value` as a literal and read it back the same. Data
    may hold what a query cannot (a NUL, a huge integer), so pools drop those values."""
    if isinstance(value, str):
        return "\x00" not in value and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, float):
        return value == value and abs(value) != float("inf")
    if isinstance(value, datetime.datetime):
        offset = value.utcoffset()
        return offset is not None and not offset % datetime.timedelta(minutes=1)
    return isinstance(value, datetime.date)


def queries(
    *,
    metadata_paths: Sequence[tuple[str, ...]] | None = None,
    attribute_paths: Sequence[tuple[str, ...]] | None = None,
    tags: Sequence[str] | None = None,
    class_names: Sequence[str] | None = None,
    dataset_ids: Sequence[int] | None = None,
    dataset_names: Sequence[str] | None = None,
    external_ids: Sequence[str] | None = None,
    json_values: Sequence[Literal] | None = None,
    words: Sequence[str] | None = None,
    sizes: SearchStrategy[int | float] | None = None,
    times: SearchStrategy[datetime.date | datetime.datetime] | None = None,
    model_names: Sequence[str] | None = None,
    versions: SearchStrategy[int | float] | None = None,
    scores: SearchStrategy[int | float] | None = None,
    max_leaves: int = 8,
) -> SearchStrategy[Node]:
    """Random valid trees over the given pools (None: arbitrary values).

    `json_values` are compared with metadata and attributes paths (strings, numbers, bools,
    dates; no datetimes), `words` make `~` patterns, `sizes` are compared with width, height
    and area, `times` with created_at and updated_at, `class_names` with the class of an
    annotation or a prediction, `versions` with a prediction's version and `scores` with its
    score and iou. Values no query can write (a NUL, an integer beyond 64 bits, a naive
    datetime) are left out of the pools."""
    if json_values is not None:  # metadata compares dates by day: no instants there
        json_values = [v for v in json_values if not isinstance(v, datetime.datetime)]
    pools = _Pools(
        metadata_paths=_paths(metadata_paths, max_size=3),
        attribute_paths=_paths(attribute_paths, max_size=2),
        tags=_pool(tags, strings()),
        class_names=_pool(class_names, strings()),
        datasets=_datasets(dataset_ids, dataset_names),
        external_ids=_pool(external_ids, strings()),
        json_values=_pool(json_values, st.one_of(strings(), numbers(), st.booleans(), days())),
        patterns=_patterns(words),
        sizes=_numbers(sizes),
        times=(times if times is not None else st.one_of(days(), instants())).filter(
            writable_literal
        ),
        model_names=_pool(model_names, strings()),
        versions=_numbers(versions),
        scores=_numbers(scores),
    )
    groups = st.one_of(
        _groups(GroupKind.LABEL, _annotation_leaves(pools), max_leaves),
        _groups(GroupKind.PREDICTION, _prediction_leaves(pools), max_leaves),
    )
    row = st.recursive(st.one_of(_row_leaves(pools), groups), _branches, max_leaves=max_leaves)
    return row.filter(_within_limits)


def _numbers(pool: SearchStrategy[int | float] | None) -> SearchStrategy[int | float]:
    return (pool if pool is not None else numbers()).filter(
        lambda v: writable_literal(v) and not isinstance(v, bool)
    )


def _groups(kind: GroupKind, leaves: SearchStrategy[Node], max_leaves: int) -> SearchStrategy:
    conditions = st.recursive(leaves, _branches, max_leaves=max_leaves)
    return st.one_of(st.none(), conditions).map(lambda c: Group(kind, c))


@dataclass(frozen=True)
class _Pools:
    metadata_paths: SearchStrategy[tuple[str, ...]]
    attribute_paths: SearchStrategy[tuple[str, ...]]
    tags: SearchStrategy[str]
    class_names: SearchStrategy[str]
    datasets: SearchStrategy[int | str]
    external_ids: SearchStrategy[str]
    json_values: SearchStrategy[Literal]
    patterns: SearchStrategy[tuple[str, ...]]
    sizes: SearchStrategy[int | float]
    times: SearchStrategy[datetime.date | datetime.datetime]
    model_names: SearchStrategy[str]
    versions: SearchStrategy[int | float]
    scores: SearchStrategy[int | float]


def _pool(
    values: Sequence[T] | None,
    arbitrary: SearchStrategy[T],
    keep: Callable[[T], bool] = writable_literal,
) -> SearchStrategy[T]:
    if values is None:
        return arbitrary
    writable = [v for v in values if keep(v)]
    if not writable:
        raise ValueError("an empty pool has nothing to draw: pass None for arbitrary values")
    return st.sampled_from(writable)


def _paths(
    paths: Sequence[tuple[str, ...]] | None, max_size: int
) -> SearchStrategy[tuple[str, ...]]:
    arbitrary = st.lists(keys(), min_size=1, max_size=max_size).map(tuple)
    return _pool(paths, arbitrary, lambda p: bool(p) and all(map(writable_literal, p)))


def _datasets(ids: Sequence[int] | None, names: Sequence[str] | None) -> SearchStrategy[int | str]:
    # Given either pool, draw from what was given only: those are the datasets that exist.
    if ids is None and names is None:
        return st.one_of(st.integers(1, 2**31), strings())
    given = [_pool(pool, st.nothing()) for pool in (ids, names) if pool]
    if not given:
        raise ValueError("empty dataset pools have nothing to draw: pass None for arbitrary")
    return st.one_of(*given)


def _patterns(words: Sequence[str] | None) -> SearchStrategy[tuple[str, ...]]:
    # What the parser keeps of a `~` pattern: its words, split, lower-cased, each once.
    if words is None:
        texts = strings(20)
    else:
        texts = st.lists(_pool(words, strings()), min_size=1, max_size=3).map(" ".join)
    return texts.map(lambda text: tuple(dict.fromkeys(words_of(text)))).filter(bool)


def _row_leaves(p: _Pools) -> SearchStrategy[Node]:
    def field(name: str, kind: FieldKind) -> Field:
        return Field(name, kind)

    external_id = field("external_id", FieldKind.STRING)
    dataset = field("dataset", FieldKind.DATASET)
    tags = field("tags", FieldKind.TAGS)
    metadata = p.metadata_paths.map(lambda path: Field("metadata", FieldKind.JSON, path))
    sizes = st.sampled_from([field("width", FieldKind.NUMBER), field("height", FieldKind.NUMBER)])
    times = st.sampled_from(
        [field("created_at", FieldKind.DATETIME), field("updated_at", FieldKind.DATETIME)]
    )
    return st.one_of(
        _compares(st.just(external_id), EQUALITY, p.external_ids),
        _ins(st.just(external_id), p.external_ids),
        _text_matches(st.just(external_id), p.patterns),
        _compares(st.just(dataset), EQUALITY, p.datasets),
        _ins(st.just(dataset), p.datasets),
        _compares(sizes, (*EQUALITY, *ORDERING), p.sizes),
        _ins(sizes, p.sizes),
        _compares(times, (*EQUALITY, *ORDERING), p.times),
        _ins(times, p.times),
        st.builds(Contains, st.just(tags), p.tags),
        _ins(st.just(tags), p.tags),
        _text_matches(st.just(field("text", FieldKind.TEXT)), p.patterns),
        _json_conditions(metadata, p),
    )


def _annotation_leaves(p: _Pools) -> SearchStrategy[Node]:
    class_ = st.just(Field("class", FieldKind.STRING))
    source = st.just(Field("source", FieldKind.STRING))
    type_ = st.just(Field("type", FieldKind.STRING))
    area = st.just(Field("area", FieldKind.NUMBER))
    attributes = p.attribute_paths.map(lambda path: Field("attributes", FieldKind.JSON, path))
    sources = st.sampled_from(["human", "model"])
    types = st.sampled_from(["bbox", "polygon", "none"])
    return st.one_of(
        _compares(class_, EQUALITY, p.class_names),
        _ins(class_, p.class_names),
        _text_matches(class_, p.patterns),
        _compares(source, EQUALITY, sources),
        _ins(source, sources),
        _compares(type_, EQUALITY, types),
        _ins(type_, types),
        _compares(area, (*EQUALITY, *ORDERING), p.sizes),
        _ins(area, p.sizes),
        _json_conditions(attributes, p),
    )


def _prediction_leaves(p: _Pools) -> SearchStrategy[Node]:
    model = st.just(Field("model", FieldKind.STRING))
    version = st.just(Field("version", FieldKind.NUMBER))
    rank = st.just(Field("rank", FieldKind.NUMBER))
    class_ = st.just(Field("class", FieldKind.STRING))
    area = st.just(Field("area", FieldKind.NUMBER))
    # score and iou are both none on some objects (an fn marker, an unevaluated one).
    fractions = st.sampled_from([Field("score", FieldKind.NUMBER), Field("iou", FieldKind.NUMBER)])
    eval_ = st.just(Field("eval", FieldKind.STRING))
    verdicts = st.sampled_from(["tp", "fp", "fn"])
    return st.one_of(
        _compares(model, EQUALITY, p.model_names),
        _ins(model, p.model_names),
        _text_matches(model, p.patterns),
        _compares(version, (*EQUALITY, *ORDERING), p.versions),
        _ins(version, p.versions),
        # Ranks are whole numbers like versions (and none on an fn marker).
        _compares(rank, (*EQUALITY, *ORDERING), p.versions),
        _ins(rank, p.versions),
        _compares(class_, EQUALITY, p.class_names),
        _ins(class_, p.class_names),
        _text_matches(class_, p.patterns),
        _compares(fractions, (*EQUALITY, *ORDERING), p.scores),
        _ins(fractions, p.scores),
        _compares(area, (*EQUALITY, *ORDERING), p.sizes),
        _ins(area, p.sizes),
        _compares(eval_, EQUALITY, verdicts),
        _ins(eval_, verdicts),
        _text_matches(eval_, p.patterns),
    )


def _json_conditions(fields: SearchStrategy[Field], p: _Pools) -> SearchStrategy[Node]:
    orderable = p.json_values.filter(lambda v: not isinstance(v, bool))
    return st.one_of(
        _compares(fields, EQUALITY, p.json_values),
        _compares(fields, ORDERING, orderable),
        _ins(fields, p.json_values),
        st.builds(Exists, fields),
        _text_matches(fields, p.patterns),
    )


def _compares(
    fields: SearchStrategy[Field], ops: Sequence[Comparison], values: SearchStrategy
) -> SearchStrategy[Node]:
    return st.builds(Compare, fields, st.sampled_from(ops), values)


def _ins(fields: SearchStrategy[Field], values: SearchStrategy) -> SearchStrategy[Node]:
    listed = st.lists(values, min_size=1, max_size=4).map(tuple)
    return st.builds(In, fields, listed, st.booleans())


def _text_matches(
    fields: SearchStrategy[Field], patterns: SearchStrategy[tuple[str, ...]]
) -> SearchStrategy[Node]:
    return st.builds(TextMatch, fields, patterns)


def _branches(children: SearchStrategy[Node]) -> SearchStrategy[Node]:
    several = st.lists(children, min_size=2, max_size=4)
    return st.one_of(
        children.map(Not),
        several.map(_flattened(And)),
        several.map(_flattened(Or)),
    )


def _flattened(kind: type[And] | type[Or]) -> Callable[[list[Node]], Node]:
    # The parser flattens `a AND (b AND c)` into one And, so a valid tree never nests them.
    def build(children: list[Node]) -> Node:
        flat: list[Node] = []
        for child in children:
            flat.extend(child.children if isinstance(child, kind) else (child,))
        return kind(tuple(flat))

    return build


def _within_limits(tree: Node) -> bool:
    # Each level of the tree costs the rendering at most one level of nesting.
    return _depth(tree) <= 64 and len(render_query(tree)) <= 10_000


def _depth(tree: Node) -> int:
    match tree:
        case And(children) | Or(children):
            return 1 + max(_depth(c) for c in children)
        case Not(child):
            return 1 + _depth(child)
        case Group(_, condition):
            return 1 + (0 if condition is None else _depth(condition))
    return 1
