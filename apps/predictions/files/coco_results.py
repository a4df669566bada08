"""The COCO results format: one JSON array of predicted objects, each naming its image.

    [{"image_id": 1, "category_id": 3, "bbox": [x, y, w, h], "score": 0.9}, ...]

Category ids mean nothing without the categories they were numbered by, and a results file
does not carry them: they come with the file, as the `categories` of the COCO dataset file
the model was run on ([{"id", "name"}, ...]). An integer image_id is the image's id in the
COCO file the dataset was imported from (kept as the row's `coco_id`); a string one is the
row's external_id. Other keys of an item (id, area, segmentation, ...) are not read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from apps.datasets.importers.json_stream import JsonStreamError, TopLevelArray
from apps.datasets.importers.records import FileRejected, RowError
from apps.datasets.importers.validation import InvalidField, json_type
from apps.predictions.files.errors import PredictionFileError
from apps.predictions.files.records import KeyKind, PredictionRecord, RowKey
from apps.predictions.files.validation import (
    check_class_name,
    check_id,
    check_prediction,
    check_row_name,
)


class CocoResults:
    """Reads a COCO results file of predictions for a model of `task`, its category ids
    named by `categories` (as `check_categories` returns them).

    Yields one `PredictionRecord` per item of the array (`[i]`, from 0), in file order.
    Raises `FileRejected` (code `not_coco_results`) when the document is not a JSON array,
    or not JSON at all, wherever in the file that shows.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, task: str, categories: dict[int, str]
    ) -> None:
        self._path = path
        self._task = task
        self._categories = categories

    def iter_records(self) -> Iterator[PredictionRecord]:
        try:
            with open(self._path, encoding="utf-8-sig") as stream:
                for index, item in TopLevelArray(stream):
                    yield self._record(f"[{index}]", item)
        except (JsonStreamError, UnicodeDecodeError) as error:
            raise FileRejected(
                PredictionFileError.NOT_COCO_RESULTS, f"not a COCO results file: {error}"
            ) from None

    def _record(self, line: str, item: object) -> PredictionRecord:
        key = None
        try:
            if not isinstance(item, dict):
                raise InvalidField(None, f"an item must be a JSON object; got {json_type(item)}")
            key = _key(item.get("image_id"))
            prediction = check_prediction(
                class_name=self._class_name(item.get("category_id")),
                score=item.get("score"),
                bbox=item.get("bbox"),
                task=self._task,
                prefix="",
            )
        except InvalidField as error:
            return PredictionRecord(
                line, key, "image_id", error=RowError(line, error.field, error.message)
            )
        return PredictionRecord(line, key, "image_id", (prediction,))

    def _class_name(self, category_id: object) -> str:
        category = check_id(category_id, "category_id")
        name = self._categories.get(category)
        if name is None:
            raise InvalidField(
                "category_id",
                f"category_id {category} is not among the categories sent with the file",
            )
        return name


def _key(image_id: object) -> RowKey:
    if isinstance(image_id, str):
        return RowKey(KeyKind.EXTERNAL_ID, check_row_name(image_id, "image_id"))
    if image_id is None:
        raise InvalidField(
            "image_id", "image_id is required: the image's id in the COCO file, or its file_name"
        )
    return RowKey(KeyKind.COCO_ID, str(check_id(image_id, "image_id")))


def check_categories(value: object) -> dict[int, str]:
    """The categories a results file's category ids refer to, as {id: name}: a list of
    {"id", "name"} objects (other keys, such as supercategory, are not read), each id and
    each name once."""
    if not isinstance(value, list) or not value:
        raise InvalidField(
            "categories", 'categories must be a non-empty list of {"id", "name"} objects'
        )
    names: dict[int, str] = {}
    taken: set[str] = set()
    for index, category in enumerate(value):
        field = f"categories[{index}]"
        if not isinstance(category, dict):
            raise InvalidField(field, f"a category must be an object; got {json_type(category)}")
        category_id = check_id(category.get("id"), f"{field}.id")
        name = check_class_name(category.get("name"), f"{field}.name")
        if category_id in names:
            raise InvalidField(f"{field}.id", f"id {category_id} is given twice")
        if name in taken:
            raise InvalidField(f"{field}.name", f"name {name!r} is given twice")
        names[category_id] = name
        taken.add(name)
    return names
