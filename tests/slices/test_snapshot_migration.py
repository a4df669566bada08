"""The slices app's migration to blocks of ids, run on a tenant's own schema: a snapshot kept
in the old form (one blob of all its row ids) pages through the API, after it, with every id
once and in order; migrated back, a snapshot taken in blocks is one blob again, id for id."""

from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_tenants.utils import tenant_context

from apps.datasets.models import DataRow
from apps.slices import row_ids
from apps.slices.id_blocks import BLOCK_IDS
from tests.support.database import wait_for_replica_catch_up

BLOB_FORM = ("slices", "0001_initial")  # snapshots kept their ids in `row_ids`
ROWS = BLOCK_IDS + 500


def _migrate(target: tuple[str, str]):
    """Migrate the active schema's slices app to `target`; the apps as they stand there."""
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    return executor.loader.project_state(target).apps


def _pages(client, path: str) -> tuple[list[int], int]:
    ids, cursor = [], None
    while True:
        response = client.get(f"{path}?page_size=1000" + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200, response.content
        page = response.json()
        ids += [row["id"] for row in page["rows"]]
        if (cursor := page["next_cursor"]) is None:
            return ids, page["total"]


def test_snapshots_move_between_a_blob_and_blocks_without_losing_an_id(tenant, editor, dataset):
    with tenant_context(tenant):
        made = DataRow.objects.bulk_create(
            DataRow(dataset_id=dataset["id"], external_id=f"r{i}", media_uri="m")
            for i in range(ROWS)
        )
    ids = sorted(row.pk for row in made)
    slice = editor.post(
        "/api/v1/slices/", {"name": "all", "dataset": dataset["id"], "query": ""},
        content_type="application/json",
    ).json()  # fmt: skip
    base = f"/api/v1/slices/{slice['id']}/snapshots/"
    assert editor.post(base).json()["row_count"] == ROWS  # snapshot 1, in blocks
    every_other = ids[::2]
    with tenant_context(tenant):
        latest = MigrationExecutor(connection).loader.graph.leaf_nodes("slices")[0]
        snapshots = _migrate(BLOB_FORM).get_model("slices", "SliceSnapshot").objects
        assert row_ids.decode(snapshots.get(number=1).row_ids) == ids
        snapshots.create(
            slice_id=slice["id"], number=2, query="", row_count=len(every_other),
            row_ids=row_ids.encode(every_other),
        )  # fmt: skip
        _migrate(latest)
    wait_for_replica_catch_up()
    assert _pages(editor, f"{base}1/rows/") == (ids, ROWS)
    assert _pages(editor, f"{base}2/rows/") == (every_other, len(every_other))
