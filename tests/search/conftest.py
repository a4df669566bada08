"""Fixtures for search: the test run's indexes start clean, and a way to wait until every
change a tenant made has reached its index."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django_tenants.utils import tenant_context

from search import outbox
from search.client import elasticsearch_client
from search.indexes import alias_name

# The datasets fixtures (an editor's client, a dataset, imports through the worker).
from tests.datasets.conftest import dataset, editor, run_import  # noqa: F401


@pytest.fixture(autouse=True, scope="session")
def _no_indexes_from_earlier_runs():
    """The test database is new each run; indexes an earlier run left (an hour old or more,
    so a run going on beside this one keeps its own) are dropped."""
    client = elasticsearch_client()
    pattern = f"{settings.ELASTICSEARCH_INDEX_PREFIX}-*"
    cutoff_ms = (time.time() - 3600) * 1000
    found = client.indices.get_settings(index=pattern, name="index.creation_date")
    for name, body in found.items():
        if int(body["settings"]["index"]["creation_date"]) < cutoff_ms:
            client.indices.delete(index=name)


def wait_until_indexed(tenant, timeout: float = 90.0) -> None:
    """Wait until the tenant's outbox is empty (every change drained by the worker), then
    make the index's latest writes searchable."""
    deadline = time.monotonic() + timeout
    with tenant_context(tenant):
        while outbox.has_entries() or not _alias_exists(tenant):
            if time.monotonic() > deadline:
                raise AssertionError(f"{tenant.slug}: the outbox was not drained in {timeout}s")
            time.sleep(0.2)
    elasticsearch_client().indices.refresh(index=alias_name(tenant.schema_name))


def _alias_exists(tenant) -> bool:
    return bool(elasticsearch_client().indices.exists_alias(name=alias_name(tenant.schema_name)))
