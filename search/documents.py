"""The Elasticsearch document of a data row, as mapped in search/mapping.py.

This runs once per row on every (re)index, millions of times: plain dicts and lists only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import lru_cache

from search.query.tree import quoted_key, words_of

# What the query language calls a date in JSON: a string that begins with YYYY-MM-DD.
JSON_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

_ASCII_WORD = re.compile(r"[a-z0-9]+")


def row_document(row: Mapping) -> dict:
    """The `_source` of one row. `row` holds the row's columns (`dataset_id`, `project_id`,
    aware datetimes, ...), `annotations`, a list of mappings with `class_name`,
    `geometry_type`, `area`, `attributes` and `source`, and `predictions`, a list of mappings
    with `model` (its name), `version`, `class_name`, `score`, `rank`, `area`, `eval` and `iou`."""
    return {
        "id": row["id"],
        "dataset": row["dataset_id"],
        "project": row["project_id"],
        "external_id": row["external_id"],
        "external_id_words": text_words(row["external_id"]),
        "width": row["width"],
        "height": row["height"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
        "tags": list(row["tags"]),
        "metadata": json_entries(row["metadata"]),
        "annotations": [
            {
                "class": a["class_name"],
                "class_words": text_words(a["class_name"]),
                "area": a["area"],
                "source": a["source"],
                "type": a["geometry_type"],
                "attributes": json_entries(a["attributes"]),
            }
            for a in row["annotations"]
        ],
        "predictions": [
            {
                "model": p["model"],
                "model_words": text_words(p["model"]),
                "version": p["version"],
                "class": p["class_name"],
                "class_words": text_words(p["class_name"]),
                "score": p["score"],
                "rank": p["rank"],
                "area": p["area"],
                "eval": p["eval"],
                "iou": p["iou"],
            }
            for p in row["predictions"]
        ],
    }


def text_words(text: str) -> list[str]:
    """tree.words_of, with a faster road for ASCII text (most of it)."""
    if text.isascii():
        return _ASCII_WORD.findall(text.lower())
    return list(words_of(text))


def json_entries(obj: dict) -> list[dict]:
    """One entry per key path of `obj` (its `key` alone says the path exists), one per
    scalar value under its path's key and type, and, for the `text` field, one without a
    key per string held in an array inside an array: no path reaches those, but `text`
    searches every string of the metadata."""
    entries: list[dict] = []
    _add_members(obj, "", entries)
    return entries


@lru_cache(maxsize=65536)
def _segment(name: str) -> str:
    # The query's own quoting (tree.Field.key), so `metadata."lens id"` finds its key.
    return quoted_key(name)


def _add_members(obj: dict, prefix: str, entries: list[dict]) -> None:
    for name, value in obj.items():
        key = prefix + _segment(name)
        if isinstance(value, list):
            entries.append({"key": key})
            for item in value:
                if isinstance(item, list):
                    _add_unreachable_strings(item, entries)
                elif isinstance(item, dict):
                    _add_members(item, key + ".", entries)
                else:
                    _add_value(key, item, entries)
        else:
            _add_value(key, value, entries)


def _add_value(key: str, value: object, entries: list[dict]) -> None:
    # bool before number: a bool is an int in Python, and a JSON boolean is no number.
    if isinstance(value, str):
        entries.append(_string_entry(key, value))
    elif isinstance(value, bool):
        entries.append({"key": key, "bool": value})
    elif isinstance(value, int | float):
        # Elasticsearch indexes doubles: a number beyond them (Postgres holds any) is kept
        # as a key only. (-0.0 never comes: Postgres stores it as 0.)
        entries.append({"key": key, "num": value} if _is_double(value) else {"key": key})
    elif isinstance(value, dict):
        entries.append({"key": key})
        _add_members(value, key + ".", entries)
    else:
        entries.append({"key": key})  # null


def _string_entry(key: str, value: str) -> dict:
    entry = {"key": key, "str": value}
    words = text_words(value)
    if words:
        entry["words"] = words
    if JSON_DATE.match(value):
        entry["date"] = value
    return entry


def _is_double(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond any double
        return False


def _add_unreachable_strings(value: object, entries: list[dict]) -> None:
    if isinstance(value, str):
        words = text_words(value)
        if words:
            entries.append({"words": words})
    elif isinstance(value, list):
        for item in value:
            _add_unreachable_strings(item, entries)
    elif isinstance(value, dict):
        for item in value.values():
            _add_unreachable_strings(item, entries)
