"""Indexing loses nothing, through an Elasticsearch outage or with a killed worker (during a
reindex: test_reindex.py); and one tenant's index never answers another tenant's search."""

from __future__ import annotations

import socket
import time

import pytest
from django_tenants.utils import tenant_context

from apps.datasets.models import DataRow
from search import outbox
from search.client import elasticsearch_client
from search.indexes import alias_name
from search.models import OutboxEntry
from tenants.roles import Role
from tests.datasets.conftest import jsonl, row, upload, wait_for_job
from tests.search.conftest import wait_until_indexed
from tests.search.test_indexing import search
from tests.support import processes

ROWS = 10_000


@pytest.fixture
def many_rows(tenant, dataset, run_import):
    rows = [row(i, metadata={"i": i, "version": 1}) for i in range(ROWS)]
    assert run_import(dataset["id"], jsonl(rows))["created"] == ROWS
    wait_until_indexed(tenant)
    return dataset


def documents_in(tenant) -> int:
    client = elasticsearch_client()
    client.indices.refresh(index=alias_name(tenant.schema_name))
    return client.count(index=alias_name(tenant.schema_name))["count"]


@pytest.mark.serial  # Elasticsearch is stopped here.
def test_changes_made_while_elasticsearch_is_down_all_arrive(tenant, editor, many_rows, run_import):
    processes.services("elasticsearch-stop")
    try:
        rows = [row(i, metadata={"i": i, "version": 2}) for i in range(ROWS)]
        assert run_import(many_rows["id"], jsonl(rows))["updated"] == ROWS
        with tenant_context(tenant):
            assert outbox.has_entries()
        # Meanwhile Postgres answers.
        answer = search(editor, "metadata.version = 2", backend="auto")
        assert (answer["backend"], answer["total"]) == ("postgres", ROWS)
    finally:
        processes.services("elasticsearch-start")
    wait_until_indexed(tenant, timeout=120)
    assert search(editor, "metadata.version = 2")["total"] == ROWS
    assert documents_in(tenant) == ROWS


def _outbox_size(tenant) -> int:
    with tenant_context(tenant):
        return OutboxEntry.objects.using("default").count()


def test_a_killed_indexing_worker_loses_nothing(tenant, editor, many_rows, tmp_path, celery_worker):
    session_worker = f"celery@{socket.gethostname()}"
    processes.consume("index", worker=session_worker, on=False)
    small_batches = {"SEARCH_DRAIN_BATCH_SIZE": "200"}
    try:
        with processes.celery_worker(
            tmp_path / "doomed.log", queues="index", name="doomed@%h", env=small_batches
        ) as doomed:
            with tenant_context(tenant):
                DataRow.objects.update(metadata={"version": 3})  # one statement, 10,000 entries
                outbox.request_drain()
            deadline = time.monotonic() + 60
            while _outbox_size(tenant) == ROWS and time.monotonic() < deadline:
                time.sleep(0.02)
            doomed.process.kill()
            doomed.process.wait()
        left = _outbox_size(tenant)
        assert 0 < left < ROWS, "the worker should die mid-drain"
        # A new worker sweeps the outboxes when it starts, and finishes the drain.
        with processes.celery_worker(tmp_path / "heir.log", queues="index", name="heir@%h"):
            wait_until_indexed(tenant, timeout=120)
    finally:
        processes.consume("index", worker=session_worker, on=True)
    assert search(editor, "metadata.version = 3")["total"] == ROWS
    assert documents_in(tenant) == ROWS


def _rows_in(client, count: int) -> None:
    project = client.post("/api/v1/projects/", {"name": "p"}, content_type="application/json")
    created = client.post(
        "/api/v1/datasets/",
        {"project": project.json()["id"], "name": "same"},
        content_type="application/json",
    ).json()
    rows = jsonl([row(i) for i in range(count)])
    response = upload(client, created["id"], rows, "r.jsonl", "jsonl")
    assert wait_for_job(client, response.json()["id"])["created"] == count


def test_two_tenants_with_the_same_data_see_only_their_own_rows(
    make_tenant, make_member, client_for, celery_worker
):
    tenants = [make_tenant(), make_tenant()]
    members = [make_member(t, Role.EDITOR) for t in tenants]
    clients = [client_for(t, m) for t, m in zip(tenants, members, strict=True)]
    for tenant, client, count in zip(tenants, clients, (5, 6), strict=True):
        _rows_in(client, count)
        wait_until_indexed(tenant)
    query = "metadata.camera = 'front' AND label(class = 'car')"
    for tenant, client, count in zip(tenants, clients, (5, 6), strict=True):
        answer = search(client, query)
        with tenant_context(tenant):
            own = set(DataRow.objects.values_list("id", flat=True))
        assert answer["total"] == count
        assert {r["id"] for r in answer["rows"]} == own
