"""Streaming exports of a dataset, in constant memory, in formats its import reads back.

Each writer returns (content type, file extension, an iterator of byte chunks). The iterator
activates the tenant itself: the server may consume it on another thread than the view's.

Rows are read a page at a time, each page its own short query after the last one's id, so
the first bytes leave before the last row is read and no query outlives its page (one held
open for a whole export would be cancelled by replay on the replica, and would hold a
snapshot for minutes on either database). An export holds the rows that existed when it
began, each as its page found it: a row deleted meanwhile may be missing. Every page comes
from the database the export's first read went to (the replica, or the primary for a
request pinned to it or while the replica is down), so a file never joins two servers'
states and a replica lost mid-way fails the export rather than some of its pages.

An export that fails part-way must not pass for a complete, shorter file: its iterator
raises, so the server closes the connection without the chunked body's last chunk, which
HTTP clients report as an incomplete read. JSONL first writes a last line saying why; COCO
is left unterminated, which no JSON parser accepts (docs/exports.md).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from enum import StrEnum

from django.db import DatabaseError, connection, router
from django.db.models import Max, QuerySet
from django_tenants.utils import tenant_context

from apps.datasets.models import Annotation, DataRow, Dataset
from loupe.api.errors import error_body

logger = logging.getLogger(__name__)

CHUNK_ROWS = 2000
# What the formats write, and no more: building a model's other fields (its timestamps
# above all) costs as much as the rest of the export.
_ROW_FIELDS = ("id", "external_id", "media_uri", "width", "height", "metadata", "tags")
_ANNOTATION_FIELDS = (
    "id",
    "data_row_id",
    "class_name",
    "geometry_type",
    "geometry",
    "attributes",
    "source",
)


class ExportFailure(StrEnum):
    """Why an export stopped part-way: the code of a JSONL export's error line."""

    DATABASE_UNAVAILABLE = "database_unavailable"
    INTERNAL_ERROR = "internal_error"


_FAILURE_DETAILS = {
    ExportFailure.DATABASE_UNAVAILABLE: "The database stopped answering part-way through "
    "the export; the file is incomplete. Export again.",
    ExportFailure.INTERNAL_ERROR: "The export failed part-way on our side; the file is "
    "incomplete. Export again, or quote the error_id.",
}


def _rows(dataset: Dataset) -> QuerySet[DataRow]:
    """The dataset's rows as of now, in id order, on the database a read goes to now. Rows
    created later (by an import running meanwhile) stay out, so a COCO file's annotations
    name only images it holds."""
    rows = DataRow.objects.using(router.db_for_read(DataRow)).filter(dataset=dataset)
    last = rows.aggregate(last=Max("id"))["last"] or 0
    return rows.filter(pk__lte=last).order_by("id").only(*_ROW_FIELDS)


def _pages(rows: QuerySet[DataRow]) -> Iterator[list[DataRow]]:
    """`rows` (in id order), CHUNK_ROWS at a time, each page read when the last one has been
    sent on: a range of the primary key after the last page's id, as cheap at the end of a
    dataset as at its start."""
    after = 0
    while True:
        page = list(rows.filter(pk__gt=after)[:CHUNK_ROWS])
        if page:
            yield page
        if len(page) < CHUNK_ROWS:
            return
        after = page[-1].pk


def _annotated_pages(
    rows: QuerySet[DataRow],
) -> Iterator[list[tuple[DataRow, list[Annotation]]]]:
    """The pages of `rows`, each row with its annotations: one more query a page, on the
    rows' database. (prefetch_related would ask the router again for every row, which
    probes the replica's health now and then, even in an export reading the primary.)"""
    for page in _pages(rows):
        annotations = defaultdict(list)
        for annotation in (
            Annotation.objects.using(rows.db)
            .filter(data_row__in=page)
            .order_by("id")
            .only(*_ANNOTATION_FIELDS)
        ):
            annotations[annotation.data_row_id].append(annotation)
        yield [(row, annotations[row.pk]) for row in page]


def _json(item: dict) -> str:
    return json.dumps(item, separators=(",", ":"))


def _bbox(geometry: dict) -> list:
    return [geometry["x"], geometry["y"], geometry["w"], geometry["h"]]


def _batches(items: Iterable[dict]) -> Iterator[list[str]]:
    """The items JSON-encoded, CHUNK_ROWS at a time."""
    batch: list[str] = []
    for item in items:
        batch.append(_json(item))
        if len(batch) >= CHUNK_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def _ending_loudly(
    chunks: Iterator[bytes], *, dataset: Dataset, last_words: Callable[[dict], bytes] | None
) -> Iterator[bytes]:
    """The chunks; if reading them fails, it is logged (with the request's id: the error id)
    and raised again, after `last_words({"error": body})` if given, to end the response
    broken."""
    try:
        yield from chunks
    except Exception as exc:
        failure = (
            ExportFailure.DATABASE_UNAVAILABLE
            if isinstance(exc, DatabaseError)
            else ExportFailure.INTERNAL_ERROR
        )
        logger.error(
            "export stopped part-way",
            extra={"dataset": dataset.pk, "failure": failure.value},
            exc_info=exc,
        )
        if last_words is not None:
            yield last_words({"error": error_body(failure, _FAILURE_DETAILS[failure])})
        raise


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


def jsonl_line(row: DataRow, annotations: list[Annotation]) -> dict:
    line = {"external_id": row.external_id, "media_uri": row.media_uri}
    if row.width is not None:
        line["width"] = row.width
    if row.height is not None:
        line["height"] = row.height
    if row.metadata:
        line["metadata"] = row.metadata
    if row.tags:
        line["tags"] = row.tags
    if annotations:
        line["annotations"] = [_jsonl_annotation(a) for a in annotations]
    return line


def _jsonl_line_bytes(item: dict) -> bytes:
    return (_json(item) + "\n").encode()


def export_jsonl(*, dataset: Dataset) -> tuple[str, str, Iterator[bytes]]:
    """A line per row, as the JSONL import reads it. Failing part-way, the body's last line
    is `{"error": {"code", "detail", "error_id"}}`: every row line has an external_id."""
    tenant = connection.tenant

    def chunks() -> Iterator[bytes]:
        with tenant_context(tenant):
            for page in _annotated_pages(_rows(dataset)):
                yield b"".join(_jsonl_line_bytes(jsonl_line(*row)) for row in page)

    return (
        "application/x-ndjson",
        "jsonl",
        _ending_loudly(chunks(), dataset=dataset, last_words=_jsonl_line_bytes),
    )


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
    """COCO detection JSON, streamed: images, then annotations (the rows read again, with
    theirs), then categories. COCO holds no tags and no whole-image labels; data imported
    from COCO comes back unchanged. Failing part-way, the document is left unterminated."""
    tenant = connection.tenant

    def chunks() -> Iterator[bytes]:
        with tenant_context(tenant):
            rows = _rows(dataset)
            category_ids: dict[str, int] = {}
            yield b'{"images":['
            yield from _joined(_coco_image(row) for page in _pages(rows) for row in page)
            yield b'],"annotations":['
            items = (
                _coco_annotation(annotation, category_ids)
                for page in _annotated_pages(rows.only("id"))
                for _, annotations in page
                for annotation in annotations
            )
            yield from _joined(item for item in items if item is not None)
            categories = [{"id": i, "name": name} for name, i in category_ids.items()]
            yield b'],"categories":' + json.dumps(categories).encode() + b"}"

    return "application/json", "json", _ending_loudly(chunks(), dataset=dataset, last_words=None)


def _joined(items: Iterable[dict]) -> Iterator[bytes]:
    """The items as the inside of a JSON array, in chunks."""
    for index, batch in enumerate(_batches(items)):
        yield (("," if index else "") + ",".join(batch)).encode()


WRITERS: dict[str, Callable[..., tuple[str, str, Iterator[bytes]]]] = {
    "jsonl": export_jsonl,
    "coco": export_coco,
}
