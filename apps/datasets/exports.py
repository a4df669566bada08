"""Streaming exports of a dataset, in constant memory, in formats its import reads back.

Each writer returns (content type, file extension, an iterator of byte chunks). The iterator
activates the tenant itself: the server may consume it on another thread than the view's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator

from django.db import connection
from django.db.models import Prefetch
from django_tenants.utils import tenant_context

from apps.datasets.models import Annotation, DataRow, Dataset

CHUNK_ROWS = 2000


def _rows(dataset: Dataset):
    annotations = Prefetch("annotations", queryset=Annotation.objects.order_by("id"))
    return (
        DataRow.objects.filter(dataset=dataset)
        .order_by("id")
        .prefetch_related(annotations)
        .iterator(chunk_size=CHUNK_ROWS)
    )


def _bbox(geometry: dict) -> list:
    return [geometry["x"], geometry["y"], geometry["w"], geometry["h"]]


def _batches(items: Iterable[dict]) -> Iterator[list[str]]:
    """The items JSON-encoded, CHUNK_ROWS at a time."""
    batch: list[str] = []
    for item in items:
        batch.append(json.dumps(item, separators=(",", ":")))
        if len(batch) >= CHUNK_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def _jsonl_annotation(annotation: Annotation) -> dict:
    item = {"class": annotation.class_name}
    geometry = annotation.geometry or {}
    if annotation.geometry_type == "bbox":
        item["bbox"] = _bbox(geometry)
    elif annotation.geometry_type == "polygon":
        item["polygon"] = geometry["points"]
    if annotation.attributes:
        item["attributes"] = annotation.attributes
    item["source"] = annotation.source
    return item


def jsonl_line(row: DataRow) -> dict:
    line = {"external_id": row.external_id, "media_uri": row.media_uri}
    if row.width is not None:
        line["width"] = row.width
    if row.height is not None:
        line["height"] = row.height
    if row.metadata:
        line["metadata"] = row.metadata
    if row.tags:
        line["tags"] = row.tags
    annotations = [_jsonl_annotation(a) for a in row.annotations.all()]
    if annotations:
        line["annotations"] = annotations
    return line


def export_jsonl(*, dataset: Dataset) -> tuple[str, str, Iterator[bytes]]:
    tenant = connection.tenant

    def chunks() -> Iterator[bytes]:
        with tenant_context(tenant):
            for batch in _batches(jsonl_line(row) for row in _rows(dataset)):
                yield ("\n".join(batch) + "\n").encode()

    return "application/x-ndjson", "jsonl", chunks()


def _coco_annotation(annotation: Annotation, category_ids: dict[str, int]) -> dict | None:
    geometry = annotation.geometry or {}
    if annotation.geometry_type == "bbox":
        bbox = _bbox(geometry)
        segmentation = None
    elif annotation.geometry_type == "polygon":
        xs = [p[0] for p in geometry["points"]]
        ys = [p[1] for p in geometry["points"]]
        bbox = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
        segmentation = [[c for point in geometry["points"] for c in point]]
    else:
        return None  # a whole-image label has no place in COCO detection
    item = {
        "id": annotation.pk,
        "image_id": annotation.data_row_id,
        # Ids are given as classes appear, so a class added while streaming still gets one.
        "category_id": category_ids.setdefault(annotation.class_name, len(category_ids) + 1),
        "bbox": bbox,
        **{k: v for k, v in annotation.attributes.items() if k in ("iscrowd", "area", "score")},
    }
    if segmentation:
        item["segmentation"] = segmentation
    return item


def _coco_image(row: DataRow) -> dict:
    image = {"id": row.pk, "file_name": row.external_id, "width": row.width, "height": row.height}
    if row.media_uri != row.external_id:
        image["coco_url"] = row.media_uri
    return {**row.metadata, **image}


def export_coco(*, dataset: Dataset) -> tuple[str, str, Iterator[bytes]]:
    """COCO detection JSON, streamed: images, then annotations, then categories. COCO holds
    no tags and no whole-image labels; data imported from COCO comes back unchanged."""
    tenant = connection.tenant

    def chunks() -> Iterator[bytes]:
        with tenant_context(tenant):
            category_ids: dict[str, int] = {}
            yield b'{"images":['
            rows = DataRow.objects.filter(dataset=dataset).order_by("id").iterator(CHUNK_ROWS)
            yield from _joined(_coco_image(row) for row in rows)
            yield b'],"annotations":['
            items = (
                _coco_annotation(a, category_ids)
                for a in Annotation.objects.filter(data_row__dataset=dataset)
                .order_by("id")
                .iterator(CHUNK_ROWS)
            )
            yield from _joined(item for item in items if item is not None)
            categories = [{"id": i, "name": name} for name, i in category_ids.items()]
            yield b'],"categories":' + json.dumps(categories).encode() + b"}"

    return "application/json", "json", chunks()


def _joined(items: Iterable[dict]) -> Iterator[bytes]:
    """The items as the inside of a JSON array, in chunks."""
    for index, batch in enumerate(_batches(items)):
        yield (("," if index else "") + ",".join(batch)).encode()


WRITERS: dict[str, Callable[..., tuple[str, str, Iterator[bytes]]]] = {
    "jsonl": export_jsonl,
    "coco": export_coco,
}
