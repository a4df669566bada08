"""Streaming exports of a dataset, in constant memory, in formats its import reads back.

Each writer returns (content type, file extension, an iterator of byte chunks). The iterator
activates the tenant itself: the server may consume it on another thread than the view's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

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


def _jsonl_annotation(annotation: Annotation) -> dict:
    item = {"class": annotation.class_name}
    geometry = annotation.geometry or {}
    if annotation.geometry_type == "bbox":
        item["bbox"] = [geometry["x"], geometry["y"], geometry["w"], geometry["h"]]
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
            buffer = []
            for row in _rows(dataset):
                buffer.append(json.dumps(jsonl_line(row), separators=(",", ":")))
                if len(buffer) >= CHUNK_ROWS:
                    yield ("\n".join(buffer) + "\n").encode()
                    buffer = []
            if buffer:
                yield ("\n".join(buffer) + "\n").encode()

    return "application/x-ndjson", "jsonl", chunks()


WRITERS: dict[str, Callable[..., tuple[str, str, Iterator[bytes]]]] = {"jsonl": export_jsonl}
