"""Every change to a data row or its annotations reaches the tenant's index through the
outbox, whatever wrote it, and survives an Elasticsearch outage."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.db import transaction
from django_tenants.utils import tenant_context

from apps.datasets.copy_writer import write_batch
from apps.datasets.importers.copy_lines import stage
from apps.datasets.importers.records import GeometryType, ParsedAnnotation, ParsedRow
from apps.datasets.models import Annotation, DataRow, Dataset
from apps.projects.models import Project
from search import outbox
from search.client import elasticsearch_client
from search.indexes import alias_name
from search.models import IndexFailure, OutboxEntry
from tests.datasets.conftest import jsonl, row
from tests.search.conftest import wait_until_indexed
from tests.support.database import wait_for_replica_catch_up


def search(client, query: str, backend: str = "elasticsearch", **extra) -> dict:
    response = client.post(
        "/api/v1/search/",
        {"query": query, "backend": backend, **extra},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def external_ids(answer: dict) -> list[str]:
    return [r["external_id"] for r in answer["rows"]]


@pytest.fixture
def indexed(tenant, dataset, run_import):
    """A dataset of 20 imported rows, all in the index."""
    rows = [row(i, metadata={"i": i, "camera": "front" if i % 2 else "rear"}) for i in range(20)]
    job = run_import(dataset["id"], jsonl(rows))
    assert job["created"] == 20
    wait_until_indexed(tenant)
    return dataset


def test_imported_rows_reach_the_index(tenant, editor, indexed):
    answer = search(editor, "metadata.camera = 'front'")
    assert answer["backend"] == "elasticsearch"
    assert answer["total"] == 10
    assert external_ids(answer) == [f"img-{i}" for i in range(1, 20, 2)]


def test_edits_and_deletions_reach_the_index(tenant, editor, indexed):
    rows = search(editor, "metadata.i IN (3, 4)")["rows"]
    edited, deleted = rows
    response = editor.patch(
        f"/api/v1/rows/{edited['id']}/",
        {"metadata": {"camera": "side"}},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert editor.delete(f"/api/v1/rows/{deleted['id']}/").status_code == 204
    wait_until_indexed(tenant)
    assert external_ids(search(editor, "metadata.camera = 'side'")) == ["img-3"]
    assert search(editor, "")["total"] == 19


def test_annotation_changes_reach_the_index(tenant, editor, indexed):
    target = search(editor, "metadata.i = 7")["rows"][0]
    response = editor.post(
        f"/api/v1/rows/{target['id']}/annotations/",
        {
            "class_name": "pedestrian",
            "geometry_type": "bbox",
            "geometry": {"x": 0, "y": 0, "w": 30, "h": 40},
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    wait_until_indexed(tenant)
    answer = search(editor, "label(class = 'pedestrian' AND area = 1200)")
    assert external_ids(answer) == ["img-7"]


def test_the_index_is_behind_an_alias_named_for_the_tenant(tenant, indexed):
    indices = elasticsearch_client().indices.get_alias(name=alias_name(tenant.schema_name))
    assert len(indices) == 1
    assert next(iter(indices)).startswith(f"{alias_name(tenant.schema_name)}-")


def test_a_row_the_index_refuses_is_recorded_and_does_not_block_the_others(tenant, editor, indexed):
    target = search(editor, "metadata.i = 5")["rows"][0]
    # Past Elasticsearch's 10,000 nested objects per document.
    too_many = {f"k{n}": n for n in range(10_001)}
    response = editor.patch(
        f"/api/v1/rows/{target['id']}/", {"metadata": too_many}, content_type="application/json"
    )
    assert response.status_code == 200
    other = search(editor, "metadata.i = 6")["rows"][0]
    editor.patch(
        f"/api/v1/rows/{other['id']}/", {"metadata": {"i": 66}}, content_type="application/json"
    )
    wait_until_indexed(tenant)
    assert external_ids(search(editor, "metadata.i = 66")) == ["img-6"]
    with tenant_context(tenant):
        failure = IndexFailure.objects.using("default").get()
    assert failure.data_row_id == target["id"]
    assert "nested" in failure.reason
    # Fixed, the row is indexed again and its failure forgotten.
    editor.patch(
        f"/api/v1/rows/{target['id']}/", {"metadata": {"i": 55}}, content_type="application/json"
    )
    wait_until_indexed(tenant)
    assert external_ids(search(editor, "metadata.i = 55")) == ["img-5"]
    with tenant_context(tenant):
        assert not IndexFailure.objects.using("default").exists()


def test_a_drain_writes_each_row_once_though_its_entries_span_batches(tenant):
    """An import's annotations reach the outbox a statement after their rows, so their
    entries lie batches behind the rows': the batch that writes a row takes them too."""
    with tenant_context(tenant), transaction.atomic():  # out of the worker's sight
        dataset = Dataset.objects.create(project=Project.objects.create(name="p"), name="d")
        rows = DataRow.objects.bulk_create(
            DataRow(dataset=dataset, external_id=f"r{i}", media_uri="m") for i in range(10)
        )
        Annotation.objects.bulk_create(
            Annotation(
                data_row=r,
                class_name="car",
                geometry_type="bbox",
                geometry={"x": 1, "y": 2, "w": 3, "h": 4},
            )
            for r in rows
        )
        assert OutboxEntry.objects.count() == 20
        assert outbox.drain(batch_size=5) == 10
        assert not outbox.has_entries()
        client = elasticsearch_client()
        versions = [client.get(index=alias_name(), id=r.pk)["_version"] for r in rows]
    assert versions == [1] * 10


def test_an_imported_batch_queues_each_row_it_writes_once(tenant):
    """The upsert queues its rows; their annotations, COPYed after, queue nothing more. Other
    writers' annotation changes in the same transaction still queue their rows."""
    labels = (
        ParsedAnnotation("car", GeometryType.NONE, None),
        ParsedAnnotation("bus", GeometryType.NONE, None),
    )
    parsed = [
        ParsedRow(line=i, external_id=f"r{i}", media_uri="m", annotations=labels) for i in range(5)
    ]
    with tenant_context(tenant), transaction.atomic():  # out of the worker's sight
        dataset = Dataset.objects.create(project=Project.objects.create(name="p"), name="d")
        written = write_batch(dataset_id=dataset.pk, rows=[stage(p) for p in parsed])
        assert written.created == 5
        assert Annotation.objects.count() == 10
        queued = sorted(OutboxEntry.objects.values_list("data_row_id", flat=True))
        ids = sorted(DataRow.objects.values_list("pk", flat=True))
        assert queued == ids

        changed = [stage(replace(p, annotations=labels[:1])) for p in parsed[:2]]
        assert write_batch(dataset_id=dataset.pk, rows=changed).updated == 2
        assert Annotation.objects.count() == 8
        assert OutboxEntry.objects.count() == 7  # the two updated rows, once more each

        Annotation.objects.create(data_row_id=ids[4], class_name="van", geometry_type="none")
        assert OutboxEntry.objects.filter(data_row_id=ids[4]).count() == 2


def test_without_elasticsearch_the_outbox_is_emptied_not_kept(tenant, settings):
    with tenant_context(tenant):
        DataRow.objects.create(
            dataset=Dataset.objects.create(project=Project.objects.create(name="p"), name="d"),
            external_id="x",
            media_uri="m",
        )
        assert outbox.has_entries()
        settings.ELASTICSEARCH_URL = ""
        elasticsearch_client.cache_clear()
        try:
            outbox.drain()
        finally:
            elasticsearch_client.cache_clear()
        assert not outbox.has_entries()


def test_an_answer_says_when_changes_are_still_on_their_way_to_the_index(tenant, editor, indexed):
    assert search(editor, "")["index_pending"] is False
    with tenant_context(tenant):
        # An entry no drain was asked for: a change still on its way.
        entry = OutboxEntry.objects.create(data_row_id=search(editor, "")["rows"][0]["id"])
    # The answer reads the outbox where it reads rows: the replica, once it has the entry.
    wait_for_replica_catch_up()
    try:
        assert search(editor, "")["index_pending"] is True
        assert search(editor, "", backend="postgres")["index_pending"] is False
    finally:
        with tenant_context(tenant):
            entry.delete()
