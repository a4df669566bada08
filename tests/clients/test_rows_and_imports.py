"""Imports through the SDK, with a progress bar its live events move, and a dataset's rows
read lazily a page at a time."""

from __future__ import annotations

import re
from itertools import islice

from tests.clients.conftest import ROWS, jsonl_rows, requests_to


def test_an_import_moves_its_bar_with_its_events_and_wait_answers_the_finished_job(
    celery_worker, loupe, dataset, tmp_path, capsys
):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(jsonl_rows(ROWS))
    queued = loupe.imports.upload(dataset["id"], path)
    job = loupe.imports.wait(queued, progress=True, timeout=120)
    bar = capsys.readouterr().err
    assert queued["status"] == "queued"
    assert (job["status"], job["created"], job["total"]) == ("succeeded", ROWS, ROWS)
    assert re.search(rf"import {job['id']}: {ROWS} records .*succeeded", bar), bar


def test_the_imports_events_are_its_stored_history(celery_worker, loupe, imported):
    job = next(loupe.imports.list(imported["id"]))
    types = [event["type"] for event in loupe.imports.events(job, follow=False)]
    assert types[0] == "import.queued" and types[-1] == "import.succeeded"
    assert "import.progress" in types


def test_a_file_in_an_unknown_format_needs_its_format_named(loupe, dataset, tmp_path):
    path = tmp_path / "rows.txt"
    path.write_bytes(jsonl_rows(1))
    job = loupe.imports.upload(dataset["id"], path.open("rb"), format="jsonl")
    assert job["format"] == "jsonl"


def test_rows_are_fetched_a_page_at_a_time_as_the_loop_reaches_them(loupe, imported):
    pages = requests_to(loupe, f"/datasets/{imported['id']}/rows/")
    rows = loupe.datasets.rows(imported["id"], page_size=100)
    assert len(pages) == 0
    first = list(islice(rows, 100))
    assert len(pages) == 1
    rest = list(rows)
    assert len(pages) == 3
    ids = [row["id"] for row in first + rest]
    assert len(ids) == ROWS and ids == sorted(ids)


def test_a_row_is_read_and_its_tags_changed(loupe, imported):
    row = next(loupe.datasets.rows(imported["id"]))
    changed = loupe.rows.update(row["id"], tags=["checked"])
    assert (changed["tags"], loupe.rows.get(row["id"])["tags"]) == (["checked"], ["checked"])
