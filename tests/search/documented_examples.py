"""Support for tests/slices/test_search_api.py: the example queries of docs/query-language.md,
rows made for them, and what each example means, written in Python over those rows, so the
test holds both backends to the rows an example should select (agreeing alone would let a
mistake they share pass).

Rows are the dicts the JSON Lines import takes, plus `dataset` (an id), `created_at`,
`updated_at` and `predictions` (the dicts `_det` and `_digits` make), which the test stores
after the import.
"""

from __future__ import annotations

import contextlib
import datetime
import re
from collections.abc import Callable
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs" / "query-language.md"
HIGHWAY = "highway-2024"  # the dataset an example names


def documented_examples() -> list[str]:
    """Every example in a `query` block of the page, once each, in page order."""
    return list(dict.fromkeys(re.findall(r"```query\n(.*?)```", DOCS.read_text(), flags=re.S)))


def _at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)


def _det(cls: str, score: float | None, rank: int | None, **fields) -> dict:
    return {"model": "det", "version": 1, "class": cls, "score": score, "rank": rank,
            "eval": None, "iou": None, "bbox": [0, 0, 10, 20], **fields}  # fmt: skip


def _digits(cls: str, score: float, rank: int, version: int = 1, **fields) -> dict:
    return {"model": "digits-cnn", "version": version, "class": cls, "score": score,
            "rank": rank, "eval": None, "iou": None, "bbox": None, **fields}  # fmt: skip


def _row(n: int, *, created: str, updated: str = "2024-06-01T00:00:00Z", **fields) -> dict:
    return {
        "external_id": f"frame_{n:06d}",
        "media_uri": f"s3://highway/{n}.jpg",
        "metadata": {},
        "tags": [],
        "annotations": [],
        "predictions": [],
        "created_at": _at(created),
        "updated_at": _at(updated),
        **fields,
    }


# With the scene's rows, each example selects some rows and not others, at the edges the page
# describes: a boundary instant, a date at the start of a string, a string "true" or "5", a
# number 5.0, a car of area 600 or 100, a box of 380 px², an IoU below 0.5 or none, a
# classification's second class, an `fn` marker without a score.
DOC_ROWS = [
    _row(
        123, created="2024-02-29T23:59:59Z", width=1920, height=1080, tags=["night"],
        metadata={
            "camera": {"position": "front"}, "weather": {"temperature_c": -3},
            "labels": ["x", "y"], "taken_on": "2024-01-17T06:30:00Z",
            "gps": {"lat": 48.8, "lon": 2.3}, "lens id": "Z-24", "sensor": {"pixel.pitch": 3.45},
            "count": 5, "reviewed": True,
        },
        annotations=[
            {"class": "car", "bbox": [0, 0, 30, 20], "attributes": {"occluded": True}},
            {"class": "pedestrian", "bbox": [0, 0, 10, 30], "source": "model"},
        ],
        predictions=[_det("car", 0.9, 0, eval="tp", iou=0.75)],
    ),
    _row(
        124, created="2024-03-01T00:00:00Z", updated="2024-03-15T00:00:00Z", width=2000,
        height=1000, tags=["night", "reviewed"],
        metadata={
            "camera": {"position": "front"}, "weather": {"temperature_c": 5}, "labels": "x",
            "taken_on": "2024-02-01", "gps": {"lon": 2.3}, "lens id": "Z-24",
            "sensor": {"pixel.pitch": 3.5}, "code": "5", "reviewed": False,
        },
        annotations=[{"class": "car", "bbox": [0, 0, 10, 10]}],
        predictions=[_det("car", 0.7, 0, eval="fp", iou=0.3)],
    ),
    _row(
        125, created="2024-03-10T00:00:00Z", updated="2024-03-15T23:59:59.999999Z", width=800,
        height=600, tags=["fog"],
        metadata={
            "lux": 3, "labels": ["y"], "taken_on": "2023-12-31T23:00:00Z", "lens id": "z-24",
            "sensor": {"pixel.pitch": 2}, "count": "5", "reviewed": "true",
        },
        annotations=[
            {"class": "pedestrian", "bbox": [0, 0, 10, 30], "source": "model"},
            {"class": "sign", "polygon": [[0, 0], [10, 0], [10, 10]], "source": "model"},
        ],
        predictions=[_det("pedestrian", None, None, eval="fn")],  # a pedestrian it missed
    ),
    _row(
        126, created="2024-01-01T00:00:00Z", updated="2024-03-16T00:00:00Z",
        metadata={"taken_on": "2024-01-05", "gps": {}, "code": 5, "x": "2024-01-31T08:00"},
    ),
    _row(
        127, created="2024-01-31T10:19:59Z", width=640, height=480, tags=["test"],
        metadata={
            "notes": "Strong lens-flare at dusk", "weather": "Rainy, at night", "count": 5.0,
            "x": "b",
        },
        annotations=[
            {"class": "blurry"},
            {"class": "car", "bbox": [0, 0, 100, 100], "attributes": {"occluded": "true"}},
        ],
        predictions=[_digits("7", 0.5, 0), _digits("1", 0.3, 1)],
    ),
    _row(
        128, created="2024-01-31T10:20:00Z", tags=["rain"],
        metadata={"a": "rainy", "b": "night", "notes": "lens dirty"},
        annotations=[
            {"class": "truck", "bbox": [0, 0, 20, 20], "attributes": {"occluded": True},
             "source": "model"},
        ],
        predictions=[
            _digits("3", 0.9, 0, eval="fp"), _digits("8", 0.05, 1),
            _digits("3", 0.95, 0, version=2), _digits("8", 0.04, 1, version=2),
        ],
    ),
    _row(
        129, created="2024-01-01T00:00:00Z",
        metadata={"x": 2.5, "weather": {"temperature_c": -10}, "camera": {"position": "rear"}},
        annotations=[
            {"class": "car", "polygon": [[0, 0], [40, 0], [40, 40], [0, 40]], "source": "model"},
        ],
        predictions=[_det("car", 0.8, 0, version=2)],  # not evaluated: no IoU
    ),
    _row(
        130, created="2024-01-01T00:00:00Z", metadata={"x": "a", "labels": ["X"]},
        annotations=[{"class": "car", "bbox": [0, 0, 25, 20]}, {"class": "pedestrian"}],
    ),
    _row(
        131, created="2024-01-01T00:00:00Z", tags=["night"],
        annotations=[{"class": "pedestrian", "bbox": [0, 0, 19, 20], "source": "model"}],
    ),
]  # fmt: skip


def importable(row: dict) -> dict:
    """The row as the JSON Lines import takes it."""
    return {k: v for k, v in row.items() if k not in ("predictions", "created_at", "updated_at")}


# --- the language's meaning, over rows as written above --------------------------------------


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _cmp(value, op: str, bound) -> bool:
    """A number compared with a bound; anything else (none, a string) matches no comparison."""
    if not _number(value):
        return False
    return {"<": value < bound, "<=": value <= bound, ">": value > bound, ">=": value >= bound}[op]


def _area(annotation: dict) -> float | None:
    if "bbox" in annotation:
        return annotation["bbox"][2] * annotation["bbox"][3]
    if "polygon" in annotation:  # the shoelace formula
        points = annotation["polygon"]
        pairs = zip(points, points[1:] + points[:1], strict=True)
        return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in pairs)) / 2
    return None


def label(row: dict, condition: Callable[[dict], bool] = lambda a: True) -> bool:
    """Some annotation, with the fields label(...) gives it, satisfies the condition."""
    return any(
        condition(
            {
                "class": a["class"],
                "source": a.get("source", "human"),
                "type": "bbox" if "bbox" in a else "polygon" if "polygon" in a else "none",
                "area": _area(a),
                "attributes": a.get("attributes", {}),
            }
        )
        for a in row["annotations"]
    )


def prediction(row: dict, condition: Callable[[dict], bool] = lambda p: True) -> bool:
    return any(condition(p) for p in row["predictions"])


def _step(found: list, key: str) -> list:
    return [
        item[key]
        for value in found
        for item in (value if isinstance(value, list) else [value])
        if isinstance(item, dict) and key in item
    ]


def exists(document: dict, *keys: str) -> bool:
    found = [document]
    for key in keys:
        found = _step(found, key)
    return bool(found)


def values(document: dict, *keys: str) -> list:
    """What a comparison at the key path sees: each key looks inside an object or inside each
    object of an array; an array at the end counts as its elements, never arrays in arrays."""
    found = [document]
    for key in keys:
        found = _step(found, key)
    return [
        e for v in found for e in (v if isinstance(v, list) else [v]) if not isinstance(e, list)
    ]


def equals(document: dict, path: tuple[str, ...], literal) -> bool:
    """Types are strict: a number equals numbers (5 = 5.0), a string strings, true true."""
    if _number(literal):
        return any(_number(v) and v == literal for v in values(document, *path))
    return any(type(v) is type(literal) and v == literal for v in values(document, *path))


def compares(document: dict, path: tuple[str, ...], op: str, bound) -> bool:
    return any(_cmp(v, op, bound) for v in values(document, *path))


def days(document: dict, path: tuple[str, ...]) -> list[datetime.date]:
    """The days the strings at the path begin with: a date literal compares with these only."""
    found = []
    for value in values(document, *path):
        if isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}", value):
            with contextlib.suppress(ValueError):  # 2024-13-45 is no day
                found.append(datetime.date.fromisoformat(value[:10]))
    return found


def _words(text: str) -> set[str]:
    return set(re.findall(r"[^\W_]+", text.lower()))


def strings(value) -> list[str]:
    """Every string value inside a JSON value, at any depth (the keys are not values)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def has_words(found: list, pattern: str) -> bool:
    """`~`: every word of the pattern among the words of one single string."""
    return any(_words(pattern) <= _words(v) for v in found if isinstance(v, str))


def _utc_day(instant: datetime.datetime) -> datetime.date:
    return instant.astimezone(datetime.UTC).date()


def _car(a: dict) -> bool:
    return a["class"] == "car"


def _wide_or_car(r: dict) -> bool:
    return _cmp(r.get("width"), ">", 640) or label(r, _car)


def _detected_car(p: dict) -> bool:
    return p["model"] == "det" and p["class"] == "car" and _cmp(p["iou"], ">=", 0.5)


def _unsure_digit(p: dict) -> bool:
    return p["model"] == "digits-cnn" and p["rank"] == 0 and _cmp(p["score"], "<", 0.6)


def _small_model_pedestrian(a: dict) -> bool:
    return a["class"] == "pedestrian" and a["source"] == "model" and _cmp(a["area"], "<", 400)


def meanings(highway_id: int) -> dict[str, Callable[[dict], bool]]:
    """Each example of the page (its words, whitespace collapsed) and whether a row matches
    it; `highway_id` is the id of the dataset named `highway-2024`."""
    m = "metadata"
    jan_31 = datetime.date(2024, 1, 31)
    return {
        "width >= 1920 AND tags CONTAINS 'night' AND label(class = 'car' AND area > 500)": (
            lambda r: (
                _cmp(r.get("width"), ">=", 1920)
                and "night" in r["tags"]
                and label(r, lambda a: _car(a) and _cmp(a["area"], ">", 500))
            )
        ),
        "label(class = 'car') AND NOT prediction(model = 'det' AND class = 'car' AND "
        "iou >= 0.5)": lambda r: label(r, _car) and not prediction(r, _detected_car),
        "width >= 1920 AND height >= 1080": (
            lambda r: _cmp(r.get("width"), ">=", 1920) and _cmp(r.get("height"), ">=", 1080)
        ),
        "tags CONTAINS 'night' AND NOT tags CONTAINS 'reviewed'": (
            lambda r: "night" in r["tags"] and "reviewed" not in r["tags"]
        ),
        "tags IN ('rain', 'snow', 'fog')": lambda r: bool({"rain", "snow", "fog"} & {*r["tags"]}),
        "label(class = 'car' AND area > 500)": (
            lambda r: label(r, lambda a: _car(a) and _cmp(a["area"], ">", 500))
        ),
        "label(class = 'car') AND label(class = 'pedestrian')": (
            lambda r: label(r, _car) and label(r, lambda a: a["class"] == "pedestrian")
        ),
        "NOT label(class = 'car')": lambda r: not label(r, _car),
        "NOT label()": lambda r: not label(r),
        "label(source = 'model' AND type = 'polygon')": (
            lambda r: label(r, lambda a: a["source"] == "model" and a["type"] == "polygon")
        ),
        "label(class IN ('car', 'truck', 'bus') AND attributes.occluded = true)": (
            lambda r: label(
                r,
                lambda a: (
                    a["class"] in ("car", "truck", "bus")
                    and equals(a["attributes"], ("occluded",), True)
                ),
            )
        ),
        "label(type = 'none' AND class = 'blurry')": (
            lambda r: label(r, lambda a: a["type"] == "none" and a["class"] == "blurry")
        ),
        "prediction(model = 'digits-cnn' AND rank = 0 AND score < 0.6)": (
            lambda r: prediction(r, _unsure_digit)
        ),
        "prediction(model = 'digits-cnn' AND (eval = 'fp' OR (rank = 0 AND score < 0.6)))": (
            lambda r: prediction(
                r, lambda p: _unsure_digit(p) or (p["model"] == "digits-cnn" and p["eval"] == "fp")
            )
        ),
        "prediction(model = 'digits-cnn' AND version = 2 AND score < 0.6)": (
            lambda r: prediction(
                r,
                lambda p: (
                    p["model"] == "digits-cnn" and p["version"] == 2 and _cmp(p["score"], "<", 0.6)
                ),
            )
        ),
        "prediction(eval = 'fp')": lambda r: prediction(r, lambda p: p["eval"] == "fp"),
        "NOT prediction(model = 'det')": (
            lambda r: not prediction(r, lambda p: p["model"] == "det")
        ),
        "metadata.camera.position = 'front' AND metadata.weather.temperature_c < 0": (
            lambda r: (
                equals(r[m], ("camera", "position"), "front")
                and compares(r[m], ("weather", "temperature_c"), "<", 0)
            )
        ),
        "metadata.labels = 'x'": lambda r: equals(r[m], ("labels",), "x"),
        "metadata.taken_on >= 2024-01-01 AND metadata.taken_on < 2024-02-01": (
            lambda r: (
                any(d >= datetime.date(2024, 1, 1) for d in days(r[m], ("taken_on",)))
                and any(d < datetime.date(2024, 2, 1) for d in days(r[m], ("taken_on",)))
            )
        ),
        "created_at >= 2024-03-01T01:00+01:00": (
            lambda r: r["created_at"] >= _at("2024-03-01T00:00:00Z")
        ),
        "updated_at = 2024-03-15": (
            lambda r: _utc_day(r["updated_at"]) == datetime.date(2024, 3, 15)
        ),
        "metadata.gps EXISTS AND NOT EXISTS(metadata.gps.lat)": (
            lambda r: exists(r[m], "gps") and not exists(r[m], "gps", "lat")
        ),
        "text ~ 'rainy night'": lambda r: has_words(strings(r[m]), "rainy night"),
        "metadata.notes ~ 'Lens flare'": lambda r: has_words(values(r[m], "notes"), "Lens flare"),
        "dataset = 'highway-2024' OR dataset IN (12, 14)": (
            lambda r: r["dataset"] in (highway_id, 12, 14)
        ),
        "external_id IN ('frame_000123', 'frame_000124')": (
            lambda r: r["external_id"] in ("frame_000123", "frame_000124")
        ),
        'metadata."lens id" = \'Z-24\' AND metadata.sensor."pixel.pitch" <= 3.45': (
            lambda r: (
                equals(r[m], ("lens id",), "Z-24")
                and compares(r[m], ("sensor", "pixel.pitch"), "<=", 3.45)
            )
        ),
        "metadata.count = 5 OR metadata.code = '5'": (
            lambda r: equals(r[m], ("count",), 5) or equals(r[m], ("code",), "5")
        ),
        "metadata.reviewed != true": lambda r: not equals(r[m], ("reviewed",), True),
        "(tags CONTAINS 'night' OR metadata.lux < 10) AND label(class = 'pedestrian' AND "
        "source = 'model' AND area < 400) AND NOT label(source = 'human')": (
            lambda r: (
                ("night" in r["tags"] or compares(r[m], ("lux",), "<", 10))
                and label(r, _small_model_pedestrian)
                and not label(r, lambda a: a["source"] == "human")
            )
        ),
        "not tags contains 'test' and (width > 640 or Label(class = 'car'))": (
            lambda r: "test" not in r["tags"] and _wide_or_car(r)
        ),
        "NOT tags CONTAINS 'test' AND (width > 640 OR label(class = 'car'))": (
            lambda r: "test" not in r["tags"] and _wide_or_car(r)
        ),
        "metadata.x NOT IN (1, 2.5, 'a', true, 2024-01-31) AND created_at < 2024-01-31T10:20:00Z": (
            lambda r: (
                not any(equals(r[m], ("x",), v) for v in (1, 2.5, "a", True))
                and jan_31 not in days(r[m], ("x",))
                and r["created_at"] < _at("2024-01-31T10:20:00Z")
            )
        ),
    }


def words_of(query: str) -> str:
    """The query with its whitespace collapsed, as `meanings` is keyed."""
    return " ".join(query.split())
