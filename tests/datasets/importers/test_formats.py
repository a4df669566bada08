"""Choosing the importer for an upload's format."""

from __future__ import annotations

import pytest

from apps.datasets.importers.coco import CocoImporter
from apps.datasets.importers.csv_rows import CsvImporter
from apps.datasets.importers.formats import importer_for
from apps.datasets.importers.jsonl import JsonlImporter
from apps.datasets.importers.zip_images import ZipImporter

ZIP_LIMITS = {"extract_dir": "/tmp", "max_total_bytes": 1, "max_ratio": 1, "max_entries": 1}


@pytest.mark.parametrize(
    ("format", "importer_class"),
    [("jsonl", JsonlImporter), ("csv", CsvImporter), ("coco", CocoImporter), ("zip", ZipImporter)],
)
def test_each_format_has_its_importer_whatever_limits_are_passed(format, importer_class):
    assert isinstance(importer_for(format, "upload", **ZIP_LIMITS), importer_class)


def test_unknown_format_is_a_value_error():
    with pytest.raises(ValueError, match="unknown import format 'xml'"):
        importer_for("xml", "upload")
