"""Which importer reads which upload format."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, Protocol

from apps.datasets.importers.coco import CocoImporter
from apps.datasets.importers.csv_rows import CsvImporter
from apps.datasets.importers.jsonl import JsonlImporter
from apps.datasets.importers.records import ParsedRow, RowError
from apps.datasets.importers.zip_images import ZipImporter

FORMATS = ("jsonl", "csv", "coco", "zip")


class Importer(Protocol):
    def iter_records(self) -> Iterator[ParsedRow | RowError]: ...


def importer_for(format: str, path: str | os.PathLike[str], **zip_limits: Any) -> Importer:
    """The importer for `format` over the file at `path`.

    `zip_limits` (extract_dir, max_total_bytes, max_ratio, max_entries) go to the ZIP
    importer and are ignored by the others, so a caller can pass them whatever the format.
    Raises ValueError for a format not in FORMATS.
    """
    if format == "zip":
        return ZipImporter(path, **zip_limits)
    if format == "jsonl":
        return JsonlImporter(path)
    if format == "csv":
        return CsvImporter(path)
    if format == "coco":
        return CocoImporter(path)
    raise ValueError(f"unknown import format {format!r}; expected one of {', '.join(FORMATS)}")
