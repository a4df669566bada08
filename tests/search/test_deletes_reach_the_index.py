"""Deleting a dataset or a project through the API takes its rows out of Elasticsearch:
totals and pages agree with Postgres afterwards, and the other dataset's rows stay."""

from __future__ import annotations

import pytest

from search.client import elasticsearch_client
from search.indexes import alias_name
from tests.datasets.conftest import all_rows, jsonl, row
from tests.search.conftest import wait_until_indexed

ROWS = 40


def _documents(tenant) -> int:
    client, alias = elasticsearch_client(), alias_name(tenant.schema_name)
    client.indices.refresh(index=alias)
    return client.count(index=alias)["count"]


def _all_pages(client, backend: str) -> tuple[int, list[int]]:
    ids, cursor, total = [], None, None
    while True:
        body = {"query": "", "backend": backend, "page_size": 25} | (
            {"cursor": cursor} if cursor else {}
        )
        page = client.post("/api/v1/search/", body, content_type="application/json").json()
        assert page["backend"] == backend
        total = page["total"] if total is None else total
        ids += [r["id"] for r in page["rows"]]
        if not (cursor := page["next_cursor"]):
            return total, ids


@pytest.fixture
def two_datasets(tenant, editor, dataset, run_import):
    """`dataset` and another in a second project, each with ROWS rows, all indexed."""
    project = editor.post("/api/v1/projects/", {"name": "other"}, content_type="application/json")
    other = editor.post(
        "/api/v1/datasets/",
        {"project": project.json()["id"], "name": "kept"},
        content_type="application/json",
    ).json()
    for target in (dataset, other):
        rows = [row(i, external_id=f"{target['name']}-{i}") for i in range(ROWS)]
        assert run_import(target["id"], jsonl(rows))["created"] == ROWS
    wait_until_indexed(tenant)
    assert _documents(tenant) == 2 * ROWS
    return dataset, other


@pytest.mark.parametrize("deleted", ["dataset", "project"])
def test_deleting_through_the_api_takes_the_rows_out_of_the_index(
    tenant, editor, two_datasets, deleted
):
    gone, kept = two_datasets
    path = f"/api/v1/{deleted}s/{gone['id'] if deleted == 'dataset' else gone['project']}/"
    assert editor.delete(path).status_code == 204
    wait_until_indexed(tenant)
    assert _documents(tenant) == ROWS
    in_postgres = _all_pages(editor, "postgres")
    assert _all_pages(editor, "elasticsearch") == in_postgres
    assert in_postgres[1] == sorted(r["id"] for r in all_rows(editor, kept["id"]))
