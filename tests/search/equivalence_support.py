"""Support for test_backends_agree.py: random datasets, the same rows loaded into a tenant's
Postgres schema and into an Elasticsearch index, and the rows each backend selects.

Rows are plain dicts (see `row`), so a failing example can be pasted into a regular test.
"""

from __future__ import annotations

import datetime

from django.db.models import Value
from elasticsearch import Elasticsearch
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from apps.datasets.models import Annotation, DataRow, Dataset
from search import bulk
from search.documents import JSON_DATE
from search.loading import rows_by_id
from search.mapping import index_body
from search.query.render import render_query
from search.query.to_elasticsearch import compile_to_elasticsearch
from search.query.to_postgres import compile_to_postgres
from search.query.tree import And, Group, Node, Not, Or, words_of

UTC = datetime.UTC

# --- rows -----------------------------------------------------------------------------------

DEFAULT_INSTANT = datetime.datetime(2024, 1, 31, 12, 0, tzinfo=UTC)


def row(external_id: str, **fields) -> dict:
    """A row to load; what is not given takes a plain default. `dataset` is 0 or 1 (the
    first or second dataset of the tenant); annotations are dicts as `annotation` makes."""
    return {
        "external_id": external_id,
        "dataset": 0,
        "width": None,
        "height": None,
        "metadata": {},
        "tags": [],
        "created_at": DEFAULT_INSTANT,
        "updated_at": DEFAULT_INSTANT,
        "annotations": [],
        **fields,
    }


def annotation(class_name: str = "car", **fields) -> dict:
    """A bbox of 10 x 20 px (area 200) unless told otherwise."""
    return {
        "class_name": class_name,
        "geometry_type": "bbox",
        "geometry": {"x": 0, "y": 0, "w": 10, "h": 20},
        "attributes": {},
        "source": "human",
        **fields,
    }


# --- random datasets ------------------------------------------------------------------------

# Few keys, so that paths recur across rows and queries find them; some need quotes (and
# escapes) in a query, "é" is a name that needs none.
KEYS = ("a", "b", "lens id", "")
ATTRIBUTE_KEYS = ("occluded", "é", "x.y", 'q"\\')
TAGS = ("train", "val", "night", "Night", "rain fog")
CLASSES = ("car", "Car", "traffic light", "Traffic-Light 2", "person", "été")

# Letters and digits with plain case mappings, separators, a combining accent (not a
# letter: it ends a word in every backend), a letter without case and a non-BMP symbol.
# Left out on purpose: letters whose lower case depends on context or is longer (Σ, İ), whose
# simple and full case mappings differ, and marks or symbols Postgres calls alphanumeric and
# Python does not (see the report on [[:alnum:]] in test_backends_agree.py).
ALPHABET = "aAbBzZ09 -_.:/'éÉüÜßαΑжЖ字٣\u0301😀"
STRINGS = (
    "",
    "front",
    "Front",
    "rainy night",
    "Rainy-Night, wet road!",
    "night_rain",
    "2024-01-31",
    "2024-01-31T23:59:59Z",
    "2024-02-01",
    "2024-02-01 later",
    "2024-1-31",
    "2024-13-45",
    "0001-01-01",
    "9999-12-31",
    "café",
    "cafe\u0301",
    "字字 jp",
    "ab12 cd",
    "Z",
    "a",
)
DAYS = tuple(
    datetime.date.fromisoformat(d)
    for d in ("2024-01-30", "2024-01-31", "2024-02-01", "1970-01-01", "2262-04-10")
)


def json_strings() -> SearchStrategy[str]:
    return st.one_of(st.sampled_from(STRINGS), st.text(ALPHABET, max_size=12))


def json_numbers() -> SearchStrategy[int | float]:
    # Within 2**53, where a double holds every whole number (Postgres compares numbers
    # exactly, Elasticsearch as doubles).
    return st.one_of(
        st.integers(-3, 3),
        st.sampled_from([0, 1, 2.5, -0.0, 0.1, 640, 10**15, 1e16, 1.5e-7]),
        st.floats(-1e6, 1e6, allow_nan=False),
    )


def json_values(max_leaves: int) -> SearchStrategy[object]:
    scalars = st.one_of(json_strings(), json_numbers(), st.booleans(), st.none())
    return st.recursive(
        scalars,
        # Arrays twice as often as objects: arrays in arrays are where the backends differ
        # most easily.
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.lists(inner, min_size=1, max_size=3),
            st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
        ),
        max_leaves=max_leaves,
    )


def instants() -> SearchStrategy[datetime.datetime]:
    """Instants on a few days, within what date_nanos can hold: often at midnight or a
    microsecond either side of it."""
    edges = [datetime.time(), datetime.time(0, 0, 0, 1), datetime.time(23, 59, 59, 999999)]
    times = st.one_of(st.sampled_from(edges), st.times())
    return st.builds(
        lambda day, time: datetime.datetime.combine(day, time, UTC), st.sampled_from(DAYS), times
    )


def annotations() -> SearchStrategy[dict]:
    bbox = st.builds(
        lambda w, h: ("bbox", {"x": 1, "y": 2, "w": w, "h": h}),
        st.sampled_from([0, 1, 2.5, 10, 100]),
        st.sampled_from([0, 1, 20, 100]),
    )
    polygon = st.sampled_from(
        [
            ("polygon", {"points": [[0, 0], [10, 0], [0, 10]]}),
            ("polygon", {"points": [[0, 0], [10, 0], [10, 20], [0, 20]]}),
        ]
    )
    geometry = st.one_of(bbox, polygon, st.just(("none", None)))
    return st.builds(
        lambda g, **fields: annotation(geometry_type=g[0], geometry=g[1], **fields),
        geometry,
        class_name=st.sampled_from(CLASSES),
        attributes=st.dictionaries(st.sampled_from(ATTRIBUTE_KEYS), json_values(4), max_size=3),
        source=st.sampled_from(["human", "model"]),
    )


def random_rows(max_size: int = 30) -> SearchStrategy[list[dict]]:
    sizes = st.one_of(st.none(), st.sampled_from([0, 1, 10, 640]), st.integers(0, 5000))
    one = st.builds(
        row,
        st.one_of(st.sampled_from(STRINGS), st.text(ALPHABET, min_size=1, max_size=10)),
        dataset=st.integers(0, 1),
        width=sizes,
        height=sizes,
        metadata=st.dictionaries(st.sampled_from(KEYS), json_values(8), max_size=4),
        tags=st.lists(st.sampled_from(TAGS), max_size=3, unique=True),
        created_at=instants(),
        updated_at=instants(),
        annotations=st.lists(annotations(), max_size=4),
    )
    return st.lists(one, min_size=1, max_size=max_size).map(_unique_external_ids)


def _unique_external_ids(rows: list[dict]) -> list[dict]:
    seen: set[tuple[int, str]] = set()
    for i, r in enumerate(rows):
        if (r["dataset"], r["external_id"]) in seen:
            r["external_id"] = f"{r['external_id']}#{i}"
        seen.add((r["dataset"], r["external_id"]))
    return rows


# --- what queries should draw from, given the data ------------------------------------------


def query_pools(rows: list[dict], dataset_ids: list[int]) -> dict:
    """Keyword arguments for query_strategies.queries(): the data's own paths and values,
    and some that match nothing or sit at the edges."""
    metadata_paths, attribute_paths, scalars = set(), set(), []
    for r in rows:
        _walk(r["metadata"], (), metadata_paths, scalars)
        for a in r["annotations"]:
            _walk(a["attributes"], (), attribute_paths, scalars)
    strings = [v for v in scalars if isinstance(v, str)]
    days = {datetime.date.fromisoformat(s[:10]) for s in strings if _is_day(s)}
    instants = [r[k] for r in rows for k in ("created_at", "updated_at")]
    sizes = [r[k] for r in rows for k in ("width", "height") if r[k] is not None]
    return {
        "metadata_paths": sorted(metadata_paths | {("absent",)}),
        "attribute_paths": sorted(attribute_paths | {("absent",)}),
        "tags": sorted({t for r in rows for t in r["tags"]} | {"absent"}),
        "class_names": sorted({a["class_name"] for r in rows for a in r["annotations"]} | {"x"}),
        "dataset_ids": dataset_ids,
        "external_ids": [r["external_id"] for r in rows] + ["absent"],
        "json_values": [*scalars, *sorted(days), *DAYS, datetime.date.max, 0, -0.0, 1.5, "", "b"],
        "words": sorted(
            {w for s in [*strings, *(r["external_id"] for r in rows)] for w in words_of(s)}
            | {w for c in CLASSES for w in words_of(c)}
            | {"absent"}
        ),
        "sizes": st.sampled_from(
            # s + 0.5: a bound between whole numbers, next to a value the data holds.
            [*sizes, *(s + 0.5 for s in sizes), 0, -0.0, 200, -1, 2**31, 1e20, -1e20, 2**63 - 1]
        ),
        "times": st.sampled_from(
            [
                *instants,
                *(i.date() for i in instants),
                datetime.date(1, 1, 1),
                datetime.date(1969, 12, 31),
                datetime.date(9999, 12, 31),
                datetime.datetime(1, 1, 2, tzinfo=UTC),
                datetime.datetime(9999, 12, 30, tzinfo=UTC),
            ]
        ),
    }


def _walk(value: object, path: tuple[str, ...], paths: set, scalars: list) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            paths.add((*path, key))
            _walk(inner, (*path, key), paths, scalars)
    elif isinstance(value, list):
        for inner in value:
            _walk(inner, path, paths, scalars)
    elif value is not None:
        scalars.append(value)


def _is_day(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text[:10])
    except ValueError:
        return False
    return JSON_DATE.match(text) is not None


# --- the two backends -----------------------------------------------------------------------


class Backends:
    """One tenant's rows in Postgres and in a test index, and the rows a tree selects in
    each. Use inside the tenant's context."""

    def __init__(self, es: Elasticsearch, index: str, datasets: list[Dataset]) -> None:
        self.es, self.index, self.datasets = es, index, datasets
        self._indexed: list[int] = []
        self._loaded = ""
        self._rows: dict[int, dict] = {}
        es.indices.create(index=index, **index_body())

    def drop(self) -> None:
        self.es.indices.delete(index=self.index)

    def load(self, rows: list[dict]) -> None:
        """Replace every row of the tenant, in both backends, by `rows` (unless the same
        rows are loaded already, as for the rule tests, which share one dataset)."""
        # repr, not ==: 1 == 1.0 == True, but they are three different JSON values.
        if repr(rows) == self._loaded:
            return
        DataRow.objects.all().delete()
        created = DataRow.objects.bulk_create(
            DataRow(
                dataset=self.datasets[r["dataset"]],
                external_id=r["external_id"],
                media_uri=f"s3://bucket/{n}.jpg",
                width=r["width"],
                height=r["height"],
                metadata=r["metadata"],
                tags=r["tags"],
            )
            for n, r in enumerate(rows)
        )
        Annotation.objects.bulk_create(
            Annotation(data_row=d, **a)
            for d, r in zip(created, rows, strict=True)
            for a in r["annotations"]
        )
        for d, r in zip(created, rows, strict=True):
            DataRow.objects.filter(pk=d.pk).update(
                created_at=r["created_at"], updated_at=r["updated_at"]
            )
        # As the indexer writes them: read back (the area is Postgres's), then in bulk.
        ids = [d.pk for d in created]
        bulk.send(
            bulk.index_operations(self.index, rows_by_id(ids), deleted_ids=self._indexed),
            refresh=True,
        )
        self._indexed, self._loaded = ids, repr(rows)
        self._rows = dict(zip(ids, rows, strict=True))

    def assert_agree(self, trees: list[Node | None]) -> list[set[str]]:
        """The external ids each tree selects, once both backends select the same rows;
        AssertionError naming the first tree they disagree on. All trees go in one SQL
        query and one multi-search: a query costs little next to loading the data."""
        in_postgres, in_elasticsearch = self._postgres_ids(trees), self._elasticsearch_ids(trees)
        for tree, postgres_ids, elasticsearch_ids in zip(
            trees, in_postgres, in_elasticsearch, strict=True
        ):
            if postgres_ids != elasticsearch_ids:
                raise AssertionError(self._disagreement(_smallest_part(self, tree)))
        return [self._external_ids(ids) for ids in in_postgres]

    def _disagreement(self, tree: Node | None) -> str:
        # A query is a condition on one row at a time, so one row it splits the backends
        # on, with the query, is the whole of a minimal example: no shrinking needed.
        (in_postgres,) = self._postgres_ids([tree])
        (in_elasticsearch,) = self._elasticsearch_ids([tree])
        first = min(in_postgres ^ in_elasticsearch)
        return (
            f"the backends disagree on {_text(tree)}\n  {tree!r}\n"
            f"  only Postgres selects {sorted(self._external_ids(in_postgres - in_elasticsearch))}"
            f"\n  only Elasticsearch selects "
            f"{sorted(self._external_ids(in_elasticsearch - in_postgres))}\n"
            f"  the first of these rows: {self._rows[first]!r}"
        )

    def disagrees(self, tree: Node) -> bool:
        return self._postgres_ids([tree]) != self._elasticsearch_ids([tree])

    def _postgres_ids(self, trees: list[Node | None]) -> list[set[int]]:
        # UNION ALL of one filtered query per tree, each as the search service would run it.
        parts = [
            DataRow.objects.filter(compile_to_postgres(tree))
            .annotate(tree=Value(i))
            .values_list("tree", "pk")
            for i, tree in enumerate(trees)
        ]
        found: list[set[int]] = [set() for _ in trees]
        for i, pk in parts[0].union(*parts[1:], all=True):
            found[i].add(pk)
        return found

    def _elasticsearch_ids(self, trees: list[Node | None]) -> list[set[int]]:
        searches: list[dict] = []
        for tree in trees:
            searches += [
                {"index": self.index},
                {"query": compile_to_elasticsearch(tree), "size": 10_000, "_source": False},
            ]
        found = []
        for response in self.es.msearch(searches=searches)["responses"]:
            assert "error" not in response, response["error"]
            found.append({int(hit["_id"]) for hit in response["hits"]["hits"]})
        return found

    def _external_ids(self, ids: set[int]) -> set[str]:
        return {self._rows[pk]["external_id"] for pk in ids}


def _smallest_part(backends: Backends, tree: Node | None) -> Node | None:
    """The smallest part of `tree` the backends still disagree on (a hand-made shrink: the
    first part that does, then the first of its parts, ...)."""
    while tree is not None:
        smaller = next((p for p in _parts(tree) if backends.disagrees(p)), None)
        if smaller is None:
            return tree
        tree = smaller
    return tree


def _parts(tree: Node) -> list[Node]:
    match tree:
        case And(children) | Or(children):
            return list(children)
        case Not(child):
            return [child]
        case Group(kind, And(children) | Or(children)):
            return [Group(kind, c) for c in children]
        case Group(kind, Not(child)):
            return [Group(kind, child)]
    return []


def _text(tree: Node | None) -> str:
    return "(every row)" if tree is None else render_query(tree)
