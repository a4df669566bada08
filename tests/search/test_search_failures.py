"""Elasticsearch failing at the query while its health check says it is up (the tenant's
index closed under it): `auto` answers from Postgres, `elasticsearch` answers 503, and
neither blames the user's query."""

from __future__ import annotations

import pytest

from search.client import elasticsearch_client
from search.indexes import alias_name
from tests.datasets.conftest import jsonl, row
from tests.search.conftest import wait_until_indexed

ROWS = 30
QUERY = "metadata.camera = 'front'"
ENDPOINTS = {"/api/v1/search/": "total", "/api/v1/search/count/": "count"}


@pytest.fixture
def closed_index(tenant, dataset, run_import, editor):
    assert run_import(dataset["id"], jsonl([row(i) for i in range(ROWS)]))["created"] == ROWS
    wait_until_indexed(tenant)
    # Served by Elasticsearch once: its health and the tenant's alias are known to be good.
    assert _search(editor, "/api/v1/search/", "auto").json()["backend"] == "elasticsearch"
    client = elasticsearch_client()
    (index,) = client.indices.get_alias(name=alias_name(tenant.schema_name))
    client.indices.close(index=index)
    yield
    client.indices.open(index=index, wait_for_active_shards="all")


def _search(client, path: str, backend: str):
    body = {"query": QUERY, "backend": backend}
    return client.post(path, body, content_type="application/json")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_auto_answers_from_postgres_when_the_index_fails_at_the_query(editor, closed_index, path):
    response = _search(editor, path, "auto")
    assert response.status_code == 200, response.content
    assert (response.json()["backend"], response.json()[ENDPOINTS[path]]) == ("postgres", ROWS)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_elasticsearch_by_name_answers_503_not_a_fault_of_the_query(editor, closed_index, path):
    response = _search(editor, path, "elasticsearch")
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "search_unavailable"
    assert "closed" in response.json()["detail"]
