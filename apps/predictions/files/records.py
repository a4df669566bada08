"""What the prediction file parsers yield, whatever the format: records naming a row and
holding its predictions, or saying why they cannot be used. Pure values, no Django."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from apps.datasets.importers.records import RowError


class KeyKind(StrEnum):
    """How a record names its row. One file names all its rows one way, so no two names in
    it can mean the same row (see grouping.py)."""

    EXTERNAL_ID = "external_id"  # the row's external_id
    ROW = "row"  # the row's id
    COCO_ID = "coco_id"  # the image id of the COCO file the row came from (its metadata)


@dataclass(frozen=True, order=True)
class RowKey:
    kind: KeyKind
    value: str  # ids as their decimal digits


@dataclass(frozen=True)
class ParsedPrediction:
    class_name: str
    score: float
    bbox: tuple[float, float, float, float] | None = None  # x, y, w, h in pixels


@dataclass(frozen=True)
class PredictionRecord:
    """One record of a file: a JSONL line or a COCO results item. `key` is None when the
    record names no row it can be matched by; `error` is set when it cannot be used, and
    then spoils its row's other records in the file too (the row is left as it was)."""

    line: int | str
    key: RowKey | None
    key_field: str | None = None  # where the file names the row, for errors
    predictions: tuple[ParsedPrediction, ...] = ()
    error: RowError | None = None
