"""Predictions as JSON Lines: one row a line, named by its external_id or its id.

    {"external_id": "a.jpg", "predictions": [{"class": "car", "score": 0.9, "bbox": [x, y, w, h]}]}

`bbox` is [x, y, w, h] in pixels, as in the dataset JSONL's annotations; a classification
model's predictions may leave it out. An empty `predictions` list says the model predicted
nothing on the row (whatever the version had on it is removed).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from apps.datasets.importers.jsonl import iter_json_lines
from apps.datasets.importers.records import RowError
from apps.datasets.importers.validation import InvalidField, check_known_keys, json_type
from apps.predictions.files.records import KeyKind, PredictionRecord, RowKey
from apps.predictions.files.validation import (
    check_class_name,
    check_id,
    check_prediction,
    check_row_name,
)

LINE_KEYS = ("external_id", "row", "predictions")
PREDICTION_KEYS = ("class", "score", "bbox")


class PredictionsJsonl:
    """Reads a JSON Lines file of predictions for a model of `task`.

    Yields one `PredictionRecord` per non-blank line, numbered from 1, in file order: its
    row's key and predictions, or its error (with the key, when the line names its row
    well enough to be refused with it). Never raises: no line spoils the others.
    """

    def __init__(self, path: str | os.PathLike[str], *, task: str) -> None:
        self._path = path
        self._task = task

    def iter_records(self) -> Iterator[PredictionRecord]:
        with open(self._path, "rb") as stream:
            for line in iter_json_lines(stream):
                if isinstance(line, RowError):
                    yield PredictionRecord(line.line, None, error=line)
                else:
                    yield self._record(*line)

    def _record(self, number: int, obj: object) -> PredictionRecord:
        key = field = None
        try:
            if not isinstance(obj, dict):
                raise InvalidField(
                    None, f"a line must be a JSON object {{...}}; got {json_type(obj)}"
                )
            key, field = _key(obj)
            check_known_keys(obj, LINE_KEYS, field=None)
            predictions = tuple(self._predictions(obj.get("predictions")))
        except InvalidField as error:
            return PredictionRecord(
                number, key, field, error=RowError(number, error.field, error.message)
            )
        return PredictionRecord(number, key, field, predictions)

    def _predictions(self, value: object) -> Iterator:
        if not isinstance(value, list):
            shown = "it is missing" if value is None else f"got {json_type(value)}"
            raise InvalidField("predictions", f"predictions must be a list of objects; {shown}")
        for index, item in enumerate(value):
            prefix = f"predictions[{index}]."
            if not isinstance(item, dict):
                raise InvalidField(
                    prefix[:-1], f"a prediction must be a JSON object; got {json_type(item)}"
                )
            check_known_keys(item, PREDICTION_KEYS, field=prefix[:-1])
            yield check_prediction(
                class_name=check_class_name(item.get("class"), f"{prefix}class"),
                score=item.get("score"),
                bbox=item.get("bbox"),
                task=self._task,
                prefix=prefix,
            )


def _key(obj: dict) -> tuple[RowKey, str]:
    """The row the line names: by external_id, or by id (`row`), not both."""
    if "external_id" in obj and "row" in obj:
        raise InvalidField("row", "name the row by external_id or by row (its id), not both")
    if "row" in obj:
        return RowKey(KeyKind.ROW, str(check_id(obj["row"], "row"))), "row"
    external_id = check_row_name(obj.get("external_id"), "external_id")
    return RowKey(KeyKind.EXTERNAL_ID, external_id), "external_id"
