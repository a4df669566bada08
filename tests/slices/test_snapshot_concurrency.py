"""Snapshots taken at the same moment through the real ASGI server are numbered 1..N, with
no gap and no number given twice."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
from django_tenants.utils import tenant_context

from apps.datasets.models import DataRow
from tenants.roles import Role
from tests.conftest import host_of, token_for

AT_ONCE = 12


def test_snapshots_requested_at_once_are_numbered_without_gap_or_repeat(
    tenant, make_member, dataset, asgi_server
):
    with tenant_context(tenant):
        DataRow.objects.bulk_create(
            DataRow(
                dataset_id=dataset["id"],
                external_id=f"img-{i}",
                media_uri=f"s3://bucket/{i}.jpg",
                metadata={"camera": "front" if i % 2 else "rear"},
            )
            for i in range(10)
        )
    headers = {
        "Host": host_of(tenant),
        "Authorization": f"Bearer {token_for(tenant, make_member(tenant, Role.EDITOR))}",
    }
    with httpx.Client(base_url=asgi_server.url, headers=headers, timeout=60) as client:
        made = client.post(
            "/api/v1/slices/",
            json={"name": "front", "dataset": dataset["id"], "query": "metadata.camera = 'front'"},
        )
        assert made.status_code == 201, made.text
        snapshots = f"/api/v1/slices/{made.json()['id']}/snapshots/"
        at_once = threading.Barrier(AT_ONCE)

        def take(_) -> httpx.Response:
            at_once.wait()
            return client.post(snapshots)

        with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
            responses = list(pool.map(take, range(AT_ONCE)))
        assert [r.status_code for r in responses] == [201] * AT_ONCE, [r.text for r in responses]
        numbers = sorted(r.json()["number"] for r in responses)
        assert numbers == list(range(1, AT_ONCE + 1))
        assert {r.json()["row_count"] for r in responses} == {5}
        listed = client.get(snapshots).json()["results"]
        assert [s["number"] for s in listed] == list(range(AT_ONCE, 0, -1))
