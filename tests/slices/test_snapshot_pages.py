"""A snapshot larger than one block of ids, through the API: its pages cross the blocks'
edges with every row once and in order, leave out rows deleted since, and end with no cursor;
the jobs that take its rows read the same ids, whole or in batches from any position."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from apps.datasets.models import DataRow
from apps.slices import snapshot_ids
from apps.slices.id_blocks import BLOCK_IDS
from apps.slices.models import SliceSnapshot
from apps.slices.searching import encode_cursor
from tests.support.database import wait_for_replica_catch_up

# Two full blocks and part of a third.
ROWS = 2 * BLOCK_IDS + 300
GONE = 100  # rows deleted before the snapshot, each leaving a gap of two between ids


def _rows(dataset_id: int, names: range) -> list[DataRow]:
    return DataRow.objects.bulk_create(
        DataRow(dataset_id=dataset_id, external_id=f"img-{i}", media_uri=f"s3://b/{i}.jpg")
        for i in names
    )


@pytest.fixture
def frozen(tenant, editor, dataset) -> dict:
    """A slice of every row of `dataset`, frozen: ROWS ids, most consecutive, some two apart
    and two runs 3,000 apart (another dataset's rows were made in between)."""
    other = editor.post(
        "/api/v1/datasets/", {"project": dataset["project"], "name": "between"},
        content_type="application/json",
    ).json()  # fmt: skip
    with tenant_context(tenant):
        first = _rows(dataset["id"], range(ROWS // 2))
        _rows(other["id"], range(3000))
        _rows(dataset["id"], range(ROWS // 2, ROWS + GONE))
        DataRow.objects.filter(pk__in=[row.pk for row in first[::7][:GONE]]).delete()
        rows = DataRow.objects.filter(dataset_id=dataset["id"]).order_by("pk")
        ids = list(rows.values_list("pk", flat=True))
    assert len(ids) == ROWS
    wait_for_replica_catch_up()
    made = editor.post(
        "/api/v1/slices/", {"name": "all", "dataset": dataset["id"], "query": ""},
        content_type="application/json",
    )  # fmt: skip
    assert made.status_code == 201, made.content
    base = f"/api/v1/slices/{made.json()['id']}/snapshots/"
    snapshot = editor.post(base)
    assert snapshot.status_code == 201, snapshot.content
    assert snapshot.json()["row_count"] == ROWS
    return {"ids": ids, "rows": f"{base}1/rows/", "slice": made.json()["id"]}


def _page(client, path: str, page_size: int, cursor: str | None = None) -> dict:
    query = f"?page_size={page_size}" + (f"&cursor={cursor}" if cursor else "")
    response = client.get(path + query)
    assert response.status_code == 200, response.content
    return response.json()


def _all_pages(client, path: str, page_size: int) -> tuple[list[int], list[dict]]:
    ids, pages, cursor = [], [], None
    while True:
        page = _page(client, path, page_size, cursor)
        pages.append(page)
        ids += [row["id"] for row in page["rows"]]
        if (cursor := page["next_cursor"]) is None:
            return ids, pages


@pytest.mark.parametrize("page_size", [1000, 333, BLOCK_IDS // 2])
def test_pages_cross_the_blocks_with_every_row_once_in_order(editor, frozen, page_size):
    ids, pages = _all_pages(editor, frozen["rows"], page_size)
    assert ids == frozen["ids"]
    assert {page["total"] for page in pages} == {ROWS}
    assert [len(page["rows"]) for page in pages[:-1]] == [page_size] * (len(pages) - 1)


def test_a_page_that_ends_on_the_last_row_has_no_next_cursor(editor, frozen):
    ids = frozen["ids"]
    full = _page(editor, frozen["rows"], 100, encode_cursor(ids[-101]))
    assert [row["id"] for row in full["rows"]] == ids[-100:]
    assert full["next_cursor"] is None
    one_short = _page(editor, frozen["rows"], 100, encode_cursor(ids[-102]))
    assert [row["id"] for row in one_short["rows"]] == ids[-101:-1]
    assert one_short["next_cursor"] == encode_cursor(ids[-2])
    past_the_end = _page(editor, frozen["rows"], 100, encode_cursor(ids[-1]))
    assert (past_the_end["rows"], past_the_end["next_cursor"]) == ([], None)
    assert past_the_end["total"] == ROWS


def test_rows_deleted_since_the_snapshot_leave_pages_on_either_side_of_a_block_edge(editor, frozen):
    ids = frozen["ids"]
    deleted = ids[BLOCK_IDS - 5 : BLOCK_IDS + 5] + ids[-3:]
    for row_id in deleted:
        assert editor.delete(f"/api/v1/rows/{row_id}/").status_code == 204
    seen, pages = _all_pages(editor, frozen["rows"], 1000)
    assert seen == [i for i in ids if i not in deleted]
    assert pages[-1]["total"] == ROWS


def test_jobs_read_the_ids_the_pages_show_whole_or_in_batches_from_any_position(
    tenant, editor, frozen
):
    shown, _ = _all_pages(editor, frozen["rows"], 1000)
    with tenant_context(tenant):
        snapshot = SliceSnapshot.objects.using("default").get(slice_id=frozen["slice"], number=1)
        assert snapshot_ids.all_ids(snapshot).tolist() == shown
        for size, start in [(2048, 0), (100, BLOCK_IDS - 1), (7, 2 * BLOCK_IDS + 1), (5, ROWS)]:
            batches = list(snapshot_ids.batches(snapshot, size=size, start=start))
            assert [first for first, _ in batches] == list(range(start, ROWS, size))
            assert [i for _, batch in batches for i in batch.tolist()] == shown[start:]


def test_a_slice_whose_query_can_match_nothing_freezes_an_empty_snapshot(editor, dataset):
    made = editor.post(
        "/api/v1/slices/", {"name": "none", "dataset": dataset["id"], "query": "width = 1.5"},
        content_type="application/json",
    ).json()  # fmt: skip
    base = f"/api/v1/slices/{made['id']}/snapshots/"
    assert editor.post(base).json()["row_count"] == 0
    page = _page(editor, f"{base}1/rows/", 10)
    assert (page["rows"], page["total"], page["next_cursor"]) == ([], 0, None)
