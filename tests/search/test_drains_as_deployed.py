"""The index queue's worker as deployed (prefork, two processes, beat beside it): two drains
of one tenant take turns and index each change once, and the periodic outbox sweep drains
changes no drain was sent for."""

from __future__ import annotations

import socket

import pytest
from django_tenants.utils import tenant_context

from apps.datasets.models import DataRow
from loupe.dispatch import enqueue
from search import outbox
from search.client import elasticsearch_client
from search.indexes import alias_name
from tests.datasets.conftest import jsonl, row
from tests.search.conftest import wait_until_indexed
from tests.search.test_indexing import search
from tests.support import processes

ROWS = 2_000


@pytest.fixture
def indexed_rows(tenant, dataset, run_import):
    rows = [row(i, metadata={"i": i, "version": 1}) for i in range(ROWS)]
    assert run_import(dataset["id"], jsonl(rows))["created"] == ROWS
    wait_until_indexed(tenant)
    return dataset


def _versions(tenant) -> dict[str, int]:
    """Each document's `_version`: how many times it was written."""
    client, alias = elasticsearch_client(), alias_name(tenant.schema_name)
    client.indices.refresh(index=alias)
    hits = client.search(index=alias, size=ROWS, version=True, source=False)["hits"]["hits"]
    return {hit["_id"]: hit["_version"] for hit in hits}


def test_two_drains_of_one_tenant_at_once_take_turns_and_index_each_change_once(
    tenant, indexed_rows, celery_worker
):
    before = _versions(tenant)
    assert len(before) == ROWS
    session_worker = f"celery@{socket.gethostname()}"
    processes.consume("index", worker=session_worker, on=False)
    try:
        with tenant_context(tenant):
            DataRow.objects.update(metadata={"version": 2})  # one entry per row, no drain sent
            for _ in range(2):  # one for each of the worker's two processes
                enqueue(outbox.DRAIN_TASK, kwargs={}, queue="index")
    finally:
        processes.consume("index", worker=session_worker, on=True)
    wait_until_indexed(tenant)
    assert _versions(tenant) == {document: seen + 1 for document, seen in before.items()}


def test_changes_no_drain_was_sent_for_are_drained_by_the_periodic_sweep(
    tenant, editor, indexed_rows, celery_worker
):
    with tenant_context(tenant):
        DataRow.objects.filter(metadata__i__lt=100).update(metadata={"i": -1, "version": 3})
        assert outbox.has_entries()
    wait_until_indexed(tenant, timeout=60)
    assert search(editor, "metadata.version = 3")["total"] == 100
