"""Streaming exports of a version's predictions, in constant memory, in the two formats its
import reads back (the same predictions, once imported into a version of the same task).

Each writer returns (content type, file extension, an iterator of byte chunks). The iterator
activates the tenant itself: the server may consume it on another thread than the view's.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator

import orjson
from django.db import connection
from django_tenants.utils import tenant_context

from apps.predictions.files.selectors import ExportedPrediction, exported_predictions
from apps.training.models import ModelVersion

CHUNK_ITEMS = 2000


def _bbox(prediction: ExportedPrediction) -> dict:
    geometry = prediction.geometry
    if not geometry:
        return {}
    return {"bbox": [geometry["x"], geometry["y"], geometry["w"], geometry["h"]]}


def _by_row(predictions: Iterable[ExportedPrediction]) -> Iterator[list[ExportedPrediction]]:
    """Each row's predictions, best first (they come by row, and rank within none)."""
    for _, same in itertools.groupby(predictions, key=lambda p: p.row_id):
        yield sorted(same, key=lambda p: (p.rank is None, p.rank or 0))


def _jsonl_lines(predictions: Iterable[ExportedPrediction]) -> Iterator[bytes]:
    for row in _by_row(predictions):
        line = {
            "external_id": row[0].external_id,
            "predictions": [{"class": p.class_name, "score": p.score, **_bbox(p)} for p in row],
        }
        yield orjson.dumps(line) + b"\n"


def _coco_items(
    predictions: Iterable[ExportedPrediction], category_ids: dict[str, int]
) -> Iterator[bytes]:
    for row in _by_row(predictions):
        for p in row:
            item = {
                "image_id": p.external_id,
                # A class the version does not list yet (none should) is numbered after them.
                "category_id": category_ids.setdefault(p.class_name, len(category_ids) + 1),
                **_bbox(p),
                "score": p.score,
            }
            yield orjson.dumps(item)


def _chunks(pieces: Iterable[bytes], separator: bytes = b"") -> Iterator[bytes]:
    """The pieces joined by `separator`, CHUNK_ITEMS to a chunk."""
    pieces = iter(pieces)
    first = True
    while batch := list(itertools.islice(pieces, CHUNK_ITEMS)):
        yield (b"" if first else separator) + separator.join(batch)
        first = False


def export_jsonl(
    *, version: ModelVersion, dataset_id: int | None = None
) -> tuple[str, str, Iterator[bytes]]:
    """A line per row: {"external_id", "predictions": [{"class", "score", "bbox"?}]}."""
    tenant = connection.tenant

    def chunks() -> Iterator[bytes]:
        with tenant_context(tenant):
            predictions = exported_predictions(version_id=version.pk, dataset_id=dataset_id)
            yield from _chunks(_jsonl_lines(predictions))

    return "application/x-ndjson", "jsonl", chunks()


def export_coco(
    *, version: ModelVersion, dataset_id: int | None = None
) -> tuple[str, str, Iterator[bytes]]:
    """COCO results: image_id is the row's external_id, category_id the class's place in
    the version's classes, from 1 (the categories to import the file back with)."""
    tenant = connection.tenant

    def chunks() -> Iterator[bytes]:
        with tenant_context(tenant):
            category_ids = {name: i for i, name in enumerate(version.classes, start=1)}
            predictions = exported_predictions(version_id=version.pk, dataset_id=dataset_id)
            yield b"["
            yield from _chunks(_coco_items(predictions, category_ids), b",")
            yield b"]\n"

    return "application/json", "json", chunks()


WRITERS: dict[str, Callable[..., tuple[str, str, Iterator[bytes]]]] = {
    "jsonl": export_jsonl,
    "coco": export_coco,
}
