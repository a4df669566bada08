"""Writing a version's predictions: two writers of one version at once (two imports, or two
runs, into it) take turns, so the rows they share end with one copy, not two; and a row's
predictions go with the row, however it is deleted."""

from __future__ import annotations

import threading

from django.db import connections, transaction
from django_tenants.utils import tenant_context

from apps.datasets.models import DataRow, Dataset
from apps.predictions.models import Prediction, PredictionSource
from apps.predictions.writer import PredictedObject, replace_predictions
from apps.projects.models import Project
from apps.training.models import Model, ModelVersion
from tenants.roles import Role


def _a_row_and_a_version(tenant) -> tuple[DataRow, ModelVersion]:
    with tenant_context(tenant):
        dataset = Dataset.objects.create(project=Project.objects.create(name="p"), name="d")
        row = DataRow.objects.create(dataset=dataset, external_id="r", media_uri="m")
        model = Model.objects.create(name="m", task="classification")
        return row, ModelVersion.objects.create(model=model, version=1, spec="external")


def _write(row: DataRow, version: ModelVersion, class_name: str) -> None:
    replace_predictions(
        version_id=version.pk,
        row_ids=[row.pk],
        objects=[PredictedObject(row.pk, class_name, 0.5, 0)],
        source=PredictionSource.IMPORT,
    )


def test_two_writers_of_one_version_on_one_row_leave_one_copy(tenant):
    row, version = _a_row_and_a_version(tenant)
    first_wrote, let_first_commit, errors = threading.Event(), threading.Event(), []

    def write(name: str, hold: bool) -> None:
        try:
            with tenant_context(tenant), transaction.atomic():
                _write(row, version, name)
                if hold:  # written, not yet committed: the other writer starts now
                    first_wrote.set()
                    let_first_commit.wait(10)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    first = threading.Thread(target=write, args=("first", True))
    second = threading.Thread(target=write, args=("second", False))
    first.start()
    assert first_wrote.wait(10)
    second.start()
    second.join(1.0)
    # Without turns, the second would have deleted nothing it could see, and be done.
    assert second.is_alive(), "the second writer did not wait for the first"
    let_first_commit.set()
    first.join(10)
    second.join(10)
    assert errors == []
    with tenant_context(tenant):
        stored = list(Prediction.objects.filter(model_version=version).values_list("class_name"))
    assert stored == [("second",)]


def test_a_dataset_deleted_takes_its_rows_predictions_with_it(tenant, make_member, client_for):
    row, version = _a_row_and_a_version(tenant)
    with tenant_context(tenant), transaction.atomic():
        _write(row, version, "car")
    editor = client_for(tenant, make_member(tenant, Role.EDITOR))
    response = editor.delete(f"/api/v1/datasets/{row.dataset_id}/")
    assert response.status_code == 204, response.content
    with tenant_context(tenant):
        assert not Prediction.objects.filter(model_version=version).exists()
