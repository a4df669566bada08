"""Search and slices through the SDK: lazy iterators over cursor pages on both backends,
counts, and a slice frozen into a snapshot. The rows are indexed first: Elasticsearch, which
answers by default, sees them once the outbox has carried them there."""

from __future__ import annotations

import pytest

from tests.clients.conftest import ROWS, requests_to
from tests.search.conftest import wait_until_indexed

REAR = "metadata.camera = 'rear'"
REAR_ROWS = len(range(0, ROWS, 3))


@pytest.fixture
def indexed(tenant, imported) -> dict:
    wait_until_indexed(tenant)
    return imported


@pytest.mark.parametrize("backend", ["postgres", "elasticsearch"])
def test_search_walks_every_match_across_pages_in_id_order(loupe, indexed, backend):
    pages = requests_to(loupe, "/search/")
    found = loupe.search(REAR, datasets=[indexed["id"]], page_size=30, backend=backend)
    rows = list(found)
    ids = [row["id"] for row in rows]
    assert (found.total, found.backend, len(rows)) == (REAR_ROWS, backend, REAR_ROWS)
    assert ids == sorted(ids) and {row["metadata"]["camera"] for row in rows} == {"rear"}
    assert len(pages) == -(-REAR_ROWS // 30)  # one request a page, the first one shared


def test_search_counts_without_reading_rows(loupe, indexed):
    assert loupe.search.count(REAR, datasets=[indexed["id"]], backend="postgres") == REAR_ROWS


def test_a_slice_is_frozen_into_a_snapshot_that_keeps_its_rows(loupe, indexed):
    rear = loupe.slices.create("rear", dataset=indexed["id"], query=REAR)
    snapshot = loupe.slices.snapshot(rear["id"])
    loupe.slices.update(rear["id"], query="")  # the slice changes; the snapshot does not
    frozen = loupe.slices.snapshot_rows(rear["id"], snapshot["number"], page_size=25)
    assert (snapshot["number"], snapshot["row_count"]) == (1, REAR_ROWS)
    assert len(list(frozen)) == frozen.total == REAR_ROWS
    assert loupe.slices.count(rear["id"]) == ROWS
    assert [s["number"] for s in loupe.slices.snapshots(rear["id"])] == [1]
    assert loupe.slices.get_snapshot(rear["id"], 1)["query"] == REAR


def test_a_slices_rows_are_the_rows_its_query_matches_now(loupe, indexed):
    rear = loupe.slices.create("rear", dataset=indexed["id"], query=REAR)
    rows = loupe.slices.rows(rear["id"], page_size=40)
    assert sum(1 for _ in rows) == rows.total == REAR_ROWS
