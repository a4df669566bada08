"""The scale bench's rows, as JSONL files of a chunk of rows each, written one at a time so
that neither the bench nor the disk ever holds them all.

Each row has 10 metadata keys of mixed kinds (strings of a handful of values, numbers,
a boolean, a date, a nested object), tags, and 3 boxes with classes and attributes: the
shape bench/search.py generates in SQL, so that its fixed queries and facets find rows
here too. Row `g` is a function of `g` alone, so a chunk is the same file in every run.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import orjson

CAMERAS = ("front", "rear", "left", "right")
WEATHERS = ("sunny day", "rainy night", "foggy morning", "snowy evening", "clear night")
CLASSES = ("car", "person", "bicycle", "truck", "sign", "bus")
_DAY_ONE = datetime.date(2024, 1, 1)
_DATES = tuple((_DAY_ONE + datetime.timedelta(days=d)).isoformat() for d in range(365))


def scale_row(g: int) -> dict:
    """Row `g` (from 1), as a JSONL import names it."""
    return {
        "external_id": f"img-{g}",
        "media_uri": f"s3://bench/{g}.jpg",
        "width": 640 + g % 1280,
        "height": 480 + g % 720,
        "metadata": {
            "camera": CAMERAS[g % 4],
            "frame": g,
            "speed": (g % 1300) / 10,
            "night": g % 7 == 0,
            "taken": _DATES[g % 365],
            "weather": WEATHERS[g % 5],
            "city": f"city-{g % 50}",
            "lens": {"focal": 20 + g % 30, "model": f"L{g % 9}"},
            "quality": 1 + g % 5,
            "session": f"s{g // 1000}",
        },
        "tags": ["blurry", "review"] if g % 10 == 0 else ["sharp", "train"],
        "annotations": [_annotation(g, k) for k in (1, 2, 3)],
    }


def _annotation(g: int, k: int) -> dict:
    gk = g * k
    return {
        "class": CLASSES[gk % 6],
        "bbox": [gk % 1800, gk % 1000, 10 + gk * 7 % 200, 10 + gk * 13 % 150],
        "attributes": {"occluded": (g + k) % 5 == 0, "truncation": gk % 100 / 100},
    }


def chunk_files(folder: Path, *, rows: int, chunk_rows: int) -> Iterator[tuple[Path, int]]:
    """Each chunk of rows 1..`rows` as a file in `folder` and its row count, written when
    asked for; the caller deletes it once sent."""
    folder.mkdir(parents=True, exist_ok=True)
    for first in range(1, rows + 1, chunk_rows):
        last = min(first + chunk_rows, rows + 1)
        path = folder / f"rows-{first}-{last - 1}.jsonl"
        with path.open("wb") as handle:
            for g in range(first, last):
                handle.write(orjson.dumps(scale_row(g)) + b"\n")
        yield path, last - first
