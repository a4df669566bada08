"""A row's predictions reach its index document through the outbox, as its annotations do, and
an index made before predictions were indexed is given their mapping before it is written to
or searched."""

from __future__ import annotations

import pytest
from django.db import transaction
from django_tenants.utils import tenant_context

from apps.datasets.models import DataRow
from apps.predictions.models import Prediction
from apps.training.models import Model, ModelVersion
from search import outbox
from search.client import elasticsearch_client
from search.indexes import alias_name
from search.mapping import index_body
from search.models import IndexFailure, IndexState, IndexVersion
from tests.datasets.conftest import jsonl, row
from tests.search.conftest import wait_until_indexed
from tests.search.test_indexing import external_ids, indexed, search  # noqa: F401


def _predict(tenant, external_id: str, **fields) -> None:
    """One prediction of version 1 of `det` on the row, and a drain asked for at commit."""
    with tenant_context(tenant), transaction.atomic():
        model, _ = Model.objects.get_or_create(name="det", defaults={"task": "detection"})
        version, _ = ModelVersion.objects.get_or_create(
            model=model, version=1, defaults={"spec": "test", "artifact": "det/1"}
        )
        Prediction.objects.create(
            data_row=DataRow.objects.using("default").get(external_id=external_id),
            model_version=version,
            **fields,
        )
        outbox.request_drain()


def _change_predictions(tenant, **update) -> None:
    with tenant_context(tenant), transaction.atomic():
        if update:
            Prediction.objects.update(**update)
        else:
            Prediction.objects.all().delete()
        outbox.request_drain()


def test_prediction_changes_reach_the_index(tenant, editor, indexed):  # noqa: F811
    _predict(tenant, "img-7", class_name="car", score=0.42)
    wait_until_indexed(tenant)
    assert external_ids(search(editor, "prediction(model = 'det' AND score < 0.5)")) == ["img-7"]

    _change_predictions(tenant, eval="fp", iou=0.2)  # as an evaluation writes its verdicts
    wait_until_indexed(tenant)
    assert external_ids(search(editor, "prediction(eval = 'fp' AND iou < 0.5)")) == ["img-7"]

    _change_predictions(tenant)
    wait_until_indexed(tenant)
    assert search(editor, "prediction()")["total"] == 0


def _make_index_without_predictions(tenant) -> str:
    """A live index behind the tenant's alias, mapped as before predictions were indexed."""
    body = index_body()
    del body["mappings"]["properties"]["predictions"]
    alias = alias_name(tenant.schema_name)
    name = f"{alias}-before-predictions"
    elasticsearch_client().indices.create(index=name, aliases={alias: {}}, **body)
    with tenant_context(tenant):
        IndexVersion.objects.create(name=name, state=IndexState.LIVE)
    return name


def _maps_predictions(index: str) -> bool:
    mapping = elasticsearch_client().indices.get_mapping(index=index)[index]["mappings"]
    return "predictions" in mapping["properties"]


def test_an_old_index_is_given_the_predictions_mapping_before_it_is_written_to(
    tenant, editor, dataset, run_import
):
    index = _make_index_without_predictions(tenant)
    job = run_import(dataset["id"], jsonl([row(i) for i in range(3)]))
    assert job["created"] == 3
    wait_until_indexed(tenant)
    assert _maps_predictions(index)
    with tenant_context(tenant):
        assert not IndexFailure.objects.using("default").exists()
    assert search(editor, "NOT prediction()")["total"] == 3


@pytest.mark.parametrize("query", ["prediction()", "NOT prediction(score > 0.5)"])
def test_an_old_index_is_given_the_predictions_mapping_before_it_is_searched(tenant, editor, query):
    index = _make_index_without_predictions(tenant)
    answer = search(editor, query)
    assert (answer["backend"], answer["total"]) == ("elasticsearch", 0)
    assert _maps_predictions(index)
