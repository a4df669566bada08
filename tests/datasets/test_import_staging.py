"""An import's batches staged ahead (apps.datasets.import_staging): in several processes, in
one, or on a thread, the batches and their order are those of staging on one core, resumed
part way or not; a caller that stops early leaves no staging process behind."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from apps.datasets.import_staging import staged_ahead, staged_batches
from apps.datasets.importers.copy_lines import CommittedBatch, StagedBatch
from apps.datasets.importers.jsonl import JsonlImporter

BATCH = 4


def _row(i: int, external_id: str | None = None) -> bytes:
    return orjson.dumps(
        {
            "external_id": external_id or f"r{i}",
            "media_uri": f"s3://b/{i}.jpg",
            "metadata": {"i": i},
            "annotations": [{"class": "car", "bbox": [1, 2, 3, 4]}],
        }
    )


@pytest.fixture
def rows_file(tmp_path) -> Path:
    """37 records among blank lines: good rows, bad JSON, a bad row, a row repeating an
    earlier one's id, Unicode whitespace (blank) and a line that is not UTF-8."""
    lines = []
    for i in range(40):
        if i == 3:
            lines.append(b"{not json")
        elif i == 9:
            lines.append(b'{"external_id": "no media"}')
        elif i == 14:
            lines.append(_row(i, external_id="r2"))
        elif i in (5, 21):
            lines.append(b"")
        elif i == 26:
            lines.append("\u00a0\u3000".encode())
        elif i == 30:
            lines.append(b"\xff\xfe")
        else:
            lines.append(_row(i))
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _one_core(path: Path, skip: int) -> list:
    records = JsonlImporter(path).iter_records()
    return list(staged_batches(records, skip=skip, batch_size=BATCH, media_prefix=""))


def _staged_ahead(path: Path, skip: int):
    return staged_ahead(
        JsonlImporter(path),
        stores_media=False,
        skip=skip,
        media_prefix="",
        media=None,
        storage=None,
    )


@pytest.mark.parametrize("processes", [0, 1, 2, 3])
@pytest.mark.parametrize("skip", [0, 5, 13])
def test_every_way_stages_the_batches_of_one_core_in_order(settings, rows_file, processes, skip):
    settings.IMPORT_BATCH_SIZE = BATCH
    settings.IMPORT_PROCESSES = processes
    expected = _one_core(rows_file, skip)
    staged = [batch for batch in expected if isinstance(batch, StagedBatch)]
    assert sum(batch.records for batch in staged) == 37 - skip  # blank lines are no records
    assert len(staged) == -(-(37 - skip) // BATCH)
    assert any(batch.errors for batch in staged)
    assert bool(skip) == isinstance(expected[0], CommittedBatch)
    assert list(_staged_ahead(rows_file, skip)) == expected


def test_a_caller_that_stops_early_leaves_no_staging_process(settings, rows_file):
    settings.IMPORT_BATCH_SIZE = BATCH
    settings.IMPORT_PROCESSES = 3
    before = _children()
    batches = _staged_ahead(rows_file, skip=0)
    first = next(batches)
    assert isinstance(first, StagedBatch) and first.records == BATCH
    assert len(_children() - before) == 3
    batches.close()
    assert _children() == before  # killed and reaped


def _children() -> set[int]:
    pid = os.getpid()
    tasks = Path(f"/proc/{pid}/task")
    found = set()
    for task in tasks.iterdir():
        children = (task / "children").read_text().split()
        found.update(int(child) for child in children)
    return found
