"""Snapshots: BENCH_SNAPSHOT_ROWS rows (1,000,000; 3 annotations each) frozen into a snapshot
through the service and through the API (`POST /slices/<id>/snapshots/` on the running
server), beside the old freeze (every id read as a Python int, then sorted, delta-encoded
and compressed into one blob in Python) in the same run. Then a page of the snapshot's rows
at its first, middle and last page: its ids read from their blocks, and the whole page
(with the rows rendered) through the selector and through the API, each beside the old
whole-blob decode of the same ids (decode every id, bisect to the cursor), p50/p95.

Run: `make bench` (or `BENCH_SNAPSHOT_ROWS=N .venv/bin/python bench/snapshots.py`).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import zlib
from array import array
from bisect import bisect_right
from itertools import accumulate, pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.search import ANNOTATIONS_SQL, ROWS_SQL, percentile, timed
from bench.setup import bench_django

ROWS = int(os.environ.get("BENCH_SNAPSHOT_ROWS") or 1_000_000)
RUNS = int(os.environ.get("BENCH_SNAPSHOT_RUNS") or 20)
FREEZES = 3  # each way of freezing, the median printed
PAGE_SIZE = 100
SLUG = "snapshotbench"


# The baseline: snapshots as they were stored before blocks, one blob of all their ids.
def old_encode(ids: list[int]) -> bytes:
    ordered = sorted(ids)
    deltas = array("q", ordered[:1])
    deltas.extend(b - a for a, b in pairwise(ordered))
    return zlib.compress(deltas.tobytes(), 6)


def old_page_ids(blob: bytes, after: int | None, page_size: int) -> list[int]:
    """The old page: the whole blob decoded on every page, then a bisect to the cursor."""
    deltas = array("q")
    deltas.frombytes(zlib.decompress(blob))
    ids = list(accumulate(deltas))
    start = 0 if after is None else bisect_right(ids, after)
    return ids[start : start + page_size]


def generated_tenant(rows: int):
    """A tenant holding `rows` generated rows with 3 annotations each (bench/search.py's),
    not indexed: snapshots read Postgres alone. Its dataset."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    from apps.datasets.models import Dataset
    from apps.projects.models import Project
    from tenants.services import create_tenant

    tenant = create_tenant(
        slug=SLUG, name=SLUG, domain=f"{SLUG}.localhost", owner_email=f"o@{SLUG}.com"
    )
    with tenant_context(tenant):
        dataset = Dataset.objects.create(project=Project.objects.create(name="b"), name="d")
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")  # no outbox entries
            cursor.execute(ROWS_SQL, {"dataset": dataset.pk, "rows": rows})
            cursor.execute(ANNOTATIONS_SQL, None)
            cursor.execute("SET session_replication_role = DEFAULT")
            cursor.execute("VACUUM ANALYZE datasets_datarow")
            cursor.execute("ANALYZE datasets_annotation")
    return tenant, dataset


def seconds(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    bench_django()
    import httpx
    from django_tenants.utils import tenant_context

    from apps.datasets.models import DataRow
    from apps.slices import services
    from apps.slices.models import Slice
    from tenants.identity import dev_issuer
    from tenants.identity.authenticate import authenticate_token
    from tests.support import processes
    from tests.support.database import wait_for_replica_catch_up

    started = time.perf_counter()
    tenant, dataset = generated_tenant(ROWS)
    print(f"{ROWS:,} rows, {3 * ROWS:,} annotations in {time.perf_counter() - started:.1f} s")
    token = dev_issuer.issue_token(email=f"o@{SLUG}.com", tenant=SLUG, role="owner")
    authenticate_token(token, client="bench")
    headers = {"Host": f"{SLUG}.localhost", "Authorization": f"Bearer {token}"}
    with tenant_context(tenant):
        slice = Slice.objects.create(dataset=dataset, name="everything", query="")

        def old_freeze() -> None:
            rows = DataRow.objects.filter(dataset=dataset).order_by()
            old_encode(list(rows.values_list("pk", flat=True).iterator(chunk_size=20000)))

        old = [seconds(old_freeze) for _ in range(FREEZES)]
        service = [
            seconds(lambda: services.create_snapshot(slice=slice, actor=None))
            for _ in range(FREEZES)
        ]
    wait_for_replica_catch_up()
    with (
        tempfile.TemporaryDirectory() as folder,
        processes.asgi_server(Path(folder) / "server.log") as server,
        httpx.Client(base_url=server.url, headers=headers, timeout=120) as client,
    ):
        snapshots = f"/api/v1/slices/{slice.pk}/snapshots/"

        def through_api() -> None:
            response = client.post(snapshots)
            assert response.status_code == 201, response.text
            assert response.json()["row_count"] == ROWS

        api = [seconds(through_api) for _ in range(FREEZES)]
        print(f"\nfreezing a snapshot of {ROWS:,} rows, median of {FREEZES} (seconds):")
        print(f"  through the service                          {statistics.median(service):>6.2f}")
        print(f"  through the API (the running server)         {statistics.median(api):>6.2f}")
        print(f"  baseline: the old freeze (Python ints, blob) {statistics.median(old):>6.2f}")
        with tenant_context(tenant):
            print_pages(client, slice)


def print_pages(client, slice) -> None:
    """p50/p95 of a page at the first, middle and last page: its ids alone, the page the
    selector renders, and the page through the API, each beside the old whole-blob decode."""
    from apps.slices import searching, selectors, snapshot_ids

    snapshot = slice.snapshots.using("default").order_by("number").first()
    ids = snapshot_ids.all_ids(snapshot).tolist()
    blob = old_encode(ids)
    rows_url = f"/api/v1/slices/{slice.pk}/snapshots/{snapshot.number}/rows/"
    print(
        f"\na page of {PAGE_SIZE} rows of snapshot {snapshot.number} ({len(ids):,} ids; "
        f"{snapshot.blocks.count():,} blocks; the old blob {len(blob) / 1024:.0f} KiB), "
        f"ms, p50/p95 of {RUNS} runs:"
    )
    columns = ["ids: blocks", "ids: old blob", "page: blocks", "page: old blob", "API"]
    print(f"{'page':<8}" + "".join(f"{c:>16}" for c in columns))
    positions = {"first": 0, "middle": len(ids) // 2, "last": len(ids) - PAGE_SIZE}
    for label, position in positions.items():
        after = ids[position - 1] if position else None
        cursor = searching.encode_cursor(after) if position else None
        new_ids, got = timed(
            lambda after=after: snapshot_ids.page_after(snapshot, after=after, limit=PAGE_SIZE + 1),
            RUNS,
        )
        old_ids, expected = timed(lambda after=after: old_page_ids(blob, after, PAGE_SIZE), RUNS)
        assert got[:PAGE_SIZE].tolist() == expected == ids[position : position + PAGE_SIZE]
        new_page, _ = timed(
            lambda cursor=cursor: selectors.snapshot_rows(
                snapshot=snapshot, page_size=PAGE_SIZE, cursor=cursor
            ),
            RUNS,
        )
        old_page, _ = timed(
            lambda after=after: searching.hydrate(old_page_ids(blob, after, PAGE_SIZE)), RUNS
        )

        def through_api(cursor=cursor) -> None:
            params = {"page_size": PAGE_SIZE} | ({"cursor": cursor} if cursor else {})
            response = client.get(rows_url, params=params)
            assert response.status_code == 200, response.text
            assert len(response.json()["rows"]) == PAGE_SIZE

        api, _ = timed(through_api, RUNS)
        print(
            f"{label:<8}"
            + "".join(
                f"{percentile(samples, 0.5):>9.2f}/{percentile(samples, 0.95):<6.2f}"
                for samples in (new_ids, old_ids, new_page, old_page, api)
            )
        )
    print(
        "(ids: the page's ids alone; page: rendered with its annotations by the selector; "
        "old blob: the baseline, every id decoded on each page)"
    )


if __name__ == "__main__":
    main()
