"""Support for test_backends_agree.py: rows as plain dicts, random datasets of them, and what
random queries should draw from, given the data (two_backends.py loads them).

Rows are plain dicts (see `row`), so a failing example can be pasted into a regular test.
"""

from __future__ import annotations

import datetime

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from search.documents import JSON_DATE
from search.query.tree import words_of

UTC = datetime.UTC

# --- rows -----------------------------------------------------------------------------------

DEFAULT_INSTANT = datetime.datetime(2024, 1, 31, 12, 0, tzinfo=UTC)


def row(external_id: str, **fields) -> dict:
    """A row to load; what is not given takes a plain default. `dataset` is 0 or 1 (the
    first or second dataset of the tenant); annotations and predictions are dicts as
    `annotation` and `predicted` make."""
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
        "predictions": [],
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


def predicted(class_name: str = "car", **fields) -> dict:
    """A box of 10 x 20 px (area 200) predicted by version 1 of `det` with score 0.9, not
    evaluated, unless told otherwise."""
    return {
        "model": "det",
        "version": 1,
        "class_name": class_name,
        "score": 0.9,
        "rank": 0,
        "geometry_type": "bbox",
        "geometry": {"x": 0, "y": 0, "w": 10, "h": 20},
        "eval": None,
        "iou": None,
        **fields,
    }


# --- random datasets ------------------------------------------------------------------------

# Few keys, so that paths recur across rows and queries find them; some need quotes (and
# escapes) in a query, "é" is a name that needs none.
KEYS = ("a", "b", "lens id", "")
ATTRIBUTE_KEYS = ("occluded", "é", "x.y", 'q"\\')
TAGS = ("train", "val", "night", "Night", "rain fog")
CLASSES = ("car", "Car", "traffic light", "Traffic-Light 2", "person", "été")
# Model names as training allows them (letters, digits, '.', '_', '-'): some share words.
MODELS = ("det", "digits-cnn", "Det_v2", "cnn.small")
VERDICTS = ("tp", "fp", "fn")

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


def predictions() -> SearchStrategy[dict]:
    """Predicted objects of several versions of a few models: scores and IoUs are often
    none (an fn marker, an object no evaluation judged), verdicts are any or none."""
    fractions = st.one_of(
        st.none(), st.sampled_from([0, 0.5, 0.6, 1, -0.0]), st.floats(0, 1, allow_nan=False)
    )
    bbox = st.builds(
        lambda w, h: ("bbox", {"x": 0, "y": 0, "w": w, "h": h}),
        st.sampled_from([0, 1, 2.5, 10]),
        st.sampled_from([0, 1, 20]),
    )
    geometry = st.one_of(bbox, st.just(("none", None)))
    return st.builds(
        lambda g, **fields: predicted(geometry_type=g[0], geometry=g[1], **fields),
        geometry,
        model=st.sampled_from(MODELS),
        version=st.integers(1, 3),
        class_name=st.sampled_from(CLASSES),
        score=fractions,
        rank=st.one_of(st.none(), st.integers(0, 2)),
        eval=st.one_of(st.none(), st.sampled_from(VERDICTS)),
        iou=fractions,
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
        predictions=st.lists(predictions(), max_size=5),
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
    predictions = [p for r in rows for p in r["predictions"]]
    classes = {a["class_name"] for r in rows for a in [*r["annotations"], *predictions]}
    fractions = [p[k] for p in predictions for k in ("score", "iou") if p[k] is not None]
    return {
        "metadata_paths": sorted(metadata_paths | {("absent",)}),
        "attribute_paths": sorted(attribute_paths | {("absent",)}),
        "tags": sorted({t for r in rows for t in r["tags"]} | {"absent"}),
        "class_names": sorted(classes | {"x"}),
        "model_names": sorted({p["model"] for p in predictions} | {"absent", "Det"}),
        "dataset_ids": dataset_ids,
        "external_ids": [r["external_id"] for r in rows] + ["absent"],
        "json_values": [*scalars, *sorted(days), *DAYS, datetime.date.max, 0, -0.0, 1.5, "", "b"],
        "words": sorted(
            {w for s in [*strings, *(r["external_id"] for r in rows)] for w in words_of(s)}
            | {w for c in (*CLASSES, *MODELS, *VERDICTS) for w in words_of(c)}
            | {"absent"}
        ),
        "sizes": st.sampled_from(
            # s + 0.5: a bound between whole numbers, next to a value the data holds.
            [*sizes, *(s + 0.5 for s in sizes), 0, -0.0, 200, -1, 2**31, 1e20, -1e20, 2**63 - 1]
        ),
        # Versions are whole numbers in a Postgres integer: bounds between and beyond them.
        "versions": st.sampled_from([1, 2, 3, 2.5, 0, -0.0, -1, 2**31, 1e20, 2**63 - 1]),
        "scores": st.sampled_from([*fractions, 0, -0.0, 0.5, 0.6, 1, 1.5, -1]),
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
