"""The rules both prediction file formats share: what a row's name, a class, a score and a
box must be. Each `check_*` returns the cleaned value or raises the dataset importers'
`InvalidField`, whose message says what to fix."""

from __future__ import annotations

import math

from apps.datasets.importers.validation import (
    InvalidField,
    check_bbox,
    check_external_id,
    json_type,
)
from apps.predictions.files.records import ParsedPrediction

# The prediction table's class_name column.
MAX_CLASS_NAME_LENGTH = 200
# More than any detector keeps for an image (COCO's evaluation takes the best 100); a rank
# is a small integer.
MAX_PREDICTIONS_PER_ROW = 1000
MAX_ID = 2**63 - 1
DETECTION = "detection"


def check_name(value: object, field: str) -> str:
    """A class name or an external_id as text Postgres stores: no NUL character."""
    if isinstance(value, str) and "\x00" in value:
        raise InvalidField(field, f"{field} must not contain the NUL character (\\u0000)")
    return value


def check_row_name(value: object, field: str) -> str:
    return check_name(check_external_id(value, field), field)


def check_id(value: object, field: str) -> int:
    """A row's or an image's id: a whole number from 1 to 2^63 - 1."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_ID:
        shown = json_type(value) if isinstance(value, bool) or value is None else repr(value)
        raise InvalidField(field, f"{field} must be a whole number above 0; got {shown}")
    return value


def check_class_name(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidField(field, f"{field} is required: the predicted class's name, a string")
    if len(value) > MAX_CLASS_NAME_LENGTH:
        raise InvalidField(
            field, f"{field} is {len(value)} characters long; at most {MAX_CLASS_NAME_LENGTH}"
        )
    return check_name(value, field)


def check_score(value: object, field: str) -> float:
    """The model's confidence, from 0 to 1."""
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or not 0 <= value <= 1
    ):
        shown = value if isinstance(value, int | float) else json_type(value)
        raise InvalidField(field, f"{field} must be a number from 0 to 1; got {shown}")
    return float(value)


def check_prediction(
    *, class_name: str, score: object, bbox: object, task: str, prefix: str
) -> ParsedPrediction:
    """One predicted object: `bbox` ([x, y, w, h], None when absent) is required for a
    detection model and may be left out for a classification one. `prefix` names the
    object in the file in error fields ("predictions[2]." in JSONL, "" in COCO results)."""
    if bbox is None and task == DETECTION:
        raise InvalidField(f"{prefix}bbox", "bbox is required for a detection model: [x, y, w, h]")
    box = None
    if bbox is not None:
        geometry = check_bbox(bbox, f"{prefix}bbox")
        box = (geometry["x"], geometry["y"], geometry["w"], geometry["h"])
    score = check_score(score, f"{prefix}score")
    return ParsedPrediction(class_name=class_name, score=score, bbox=box)
