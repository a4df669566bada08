"""A model's own predictions imported from a file (JSONL, COCO results) through the API and
the real worker; bad input changes nothing. Exports are in test_prediction_exports.py."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django_tenants.utils import tenant_context

from apps.predictions.files.runs import run_prediction_import
from apps.predictions.models import PredictionImport
from apps.training.models import Model, ModelVersion
from tenants.roles import Role
from tests.predictions.prediction_files import (
    CATEGORIES,
    EXAMPLE,
    EXAMPLE_FILES,
    FILES,
    car,
    counters,
    form,
    imported,
    jsonl,
    stored,
)


class Stopped(BaseException):
    """Stands for the process dying: nothing after it runs, no handler catches it."""


# --- Importing -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_each_example_file_imports_its_predictions_on_the_rows_it_names(
    tenant, editor, street, name
):
    job = imported(editor, form(street["id"], name))

    records = 4 if name.endswith(".json") else 3
    assert counters(job) == ("succeeded", records, 3, 4, 0)
    assert stored(tenant, job["model_version"]) == EXAMPLE


def test_an_imported_version_is_external_numbered_after_the_last_with_the_files_classes(
    editor, street
):
    first = imported(editor, form(street["id"]))
    second = imported(editor, form(street["id"], "predictions.jsonl", task=None))

    assert (first["version"], second["version"]) == (1, 2)
    version = editor.get(f"/api/v1/model-versions/{second['model_version']}/").json()
    assert (version["spec"], version["classes"]) == ("external", ["car", "person"])
    assert editor.get("/api/v1/models/street-det/").json()["task"] == "detection"


def test_importing_the_same_file_again_into_its_version_stores_one_copy(tenant, editor, street):
    first = imported(editor, form(street["id"]))
    again = imported(editor, form(street["id"], version=first["version"]))

    assert again["model_version"] == first["model_version"]
    assert counters(again) == ("succeeded", 4, 3, 4, 0)
    assert stored(tenant, first["model_version"]) == EXAMPLE


def test_a_file_replaces_the_predictions_on_the_rows_it_names_and_no_others(tenant, editor, street):
    first = imported(editor, form(street["id"]))
    lines = [
        {"external_id": "street/0001.jpg", "predictions": [car(0.3)]},
        {"external_id": "street/0002.jpg", "predictions": []},
    ]
    again = imported(
        editor, form(street["id"], "more.jsonl", jsonl(lines), version=first["version"])
    )

    assert counters(again) == ("succeeded", 2, 2, 1, 0)
    assert stored(tenant, first["model_version"]) == [
        ("street/0001.jpg", 0, "car", 0.3, {"x": 1, "y": 2, "w": 3, "h": 4}),
        EXAMPLE[3],
    ]


def test_a_rows_predictions_spread_over_jsonl_lines_are_all_written(tenant, editor, street):
    lines = [
        {"external_id": "street/0001.jpg", "predictions": [car(0.2)]},
        {"external_id": "street/0002.jpg", "predictions": [car(0.4)]},
        {"external_id": "street/0001.jpg", "predictions": [car(0.9)]},
    ]
    job = imported(editor, form(street["id"], "spread.jsonl", jsonl(lines)))

    assert counters(job) == ("succeeded", 3, 2, 3, 0)
    ranked = [(x[0], x[1], x[3]) for x in stored(tenant, job["model_version"])]
    assert ranked == [
        ("street/0001.jpg", 0, 0.9),
        ("street/0001.jpg", 1, 0.2),
        ("street/0002.jpg", 0, 0.4),
    ]


def test_rows_are_matched_by_row_id_too(tenant, editor, street):
    row = street_row_id(tenant, street["id"], "street/0002.jpg")
    job = imported(
        editor, form(street["id"], "ids.jsonl", jsonl([{"row": row, "predictions": [car()]}]))
    )

    assert counters(job) == ("succeeded", 1, 1, 1, 0)
    assert [x[0] for x in stored(tenant, job["model_version"])] == ["street/0002.jpg"]


def test_coco_image_ids_given_as_strings_are_matched_to_external_ids(tenant, editor, street):
    items = [{"image_id": "street/0003.jpg", "category_id": 2, "bbox": [1, 1, 2, 2], "score": 1}]
    job = imported(editor, form(street["id"], "named.json", json.dumps(items).encode()))

    assert counters(job) == ("succeeded", 1, 1, 1, 0)
    assert stored(tenant, job["model_version"])[0][:3] == ("street/0003.jpg", 0, "person")


def test_a_classification_models_predictions_need_no_box(tenant, editor, street):
    lines = [{"external_id": "street/0001.jpg", "predictions": [{"class": "car", "score": 0.7}]}]
    job = imported(
        editor,
        form(street["id"], "labels.jsonl", jsonl(lines), model="street-cls", task="classification"),
    )

    assert counters(job) == ("succeeded", 1, 1, 1, 0)
    assert stored(tenant, job["model_version"]) == [("street/0001.jpg", 0, "car", 0.7, None)]


# --- Bad lines -----------------------------------------------------------------------------


def test_lines_naming_no_row_are_line_errors_and_the_rest_is_written(tenant, editor, street):
    unknown = {"image_id": 99, "category_id": 1, "bbox": [1, 1, 2, 2], "score": 0.5}
    items = [*json.loads((FILES / "results.coco.json").read_text()), unknown]
    job = imported(editor, form(street["id"], "more.json", json.dumps(items).encode()))

    assert counters(job) == ("succeeded", 5, 3, 4, 1)
    (error,) = job["errors"]
    assert (error["line"], error["field"]) == ("[4]", "image_id")
    assert error["message"].startswith("unknown_row: COCO image id 99 matches no row")
    assert stored(tenant, job["model_version"]) == EXAMPLE


def test_a_file_whose_rows_are_all_unknown_fails_saying_so(tenant, editor, street):
    lines = [{"external_id": "elsewhere.jpg", "predictions": [car()]}]
    job = imported(editor, form(street["id"], "elsewhere.jsonl", jsonl(lines)))

    assert counters(job) == ("failed", 1, 0, 0, 1)
    assert job["detail"].startswith("no_rows_matched")
    assert stored(tenant, job["model_version"]) == []


BAD_LINES = [
    ('{"external_id": "street/0001.jpg", "predictions": [', None),
    ({"external_id": "street/0001.jpg", "predictions": [car(1.5)]}, "predictions[0].score"),
    (
        {"external_id": "street/0001.jpg", "predictions": [car(bbox=[0, 0, 0, 4])]},
        "predictions[0].bbox",
    ),
    (
        {"external_id": "street/0001.jpg", "predictions": [{"class": "car", "score": 0.5}]},
        "predictions[0].bbox",
    ),
    ({"external_id": "street/0001.jpg", "predictions": [car(colour="red")]}, "predictions[0]"),
    (
        {"external_id": "street/0001.jpg", "predictions": [car(**{"class": "a\u0000b"})]},
        "predictions[0].class",
    ),
    ({"external_id": "street/0001.jpg"}, "predictions"),
    ({"external_id": "street/0001.jpg", "row": 1, "predictions": []}, "row"),
    ({"external_id": "street/0001.jpg", "predictions": [], "colour": "red"}, "colour"),
    ({"row": 0, "predictions": []}, "row"),
]


@pytest.mark.parametrize(("line", "field"), BAD_LINES)
def test_a_bad_line_is_an_error_naming_its_field_and_leaves_its_row_as_it_was(
    tenant, editor, street, line, field
):
    first = imported(editor, form(street["id"]))
    good = {"external_id": "street/0002.jpg", "predictions": [car(0.1)]}
    again = imported(
        editor, form(street["id"], "bad.jsonl", jsonl([line, good]), version=first["version"])
    )

    assert counters(again) == ("succeeded", 2, 1, 1, 1)
    assert (again["errors"][0]["line"], again["errors"][0]["field"]) == (1, field)
    row_1 = [x for x in stored(tenant, first["model_version"]) if x[0] == "street/0001.jpg"]
    assert row_1 == EXAMPLE[:2]


def test_a_bad_item_leaves_its_whole_row_as_it_was_saying_so(tenant, editor, street):
    items = [
        {"image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "score": 0.5},
        {"image_id": 2, "category_id": 2, "bbox": [1, 1, 2, 2], "score": 0.5},
        {"image_id": 1, "category_id": 9, "bbox": [1, 1, 2, 2], "score": 0.5},
    ]
    job = imported(editor, form(street["id"], "bad.json", json.dumps(items).encode()))

    assert counters(job) == ("succeeded", 3, 1, 1, 1)
    (error,) = job["errors"]
    assert (error["line"], error["field"]) == ("[2]", "category_id")
    assert "the row's other predictions in the file are not imported" in error["message"]
    assert [x[0] for x in stored(tenant, job["model_version"])] == ["street/0002.jpg"]


def test_a_coco_image_id_two_rows_share_is_an_error_on_its_items(tenant, editor, street):
    # As when two COCO files with the same image ids are imported into one dataset.
    row = street_row_id(tenant, street["id"], "street/0002.jpg")
    patched = editor.patch(
        f"/api/v1/rows/{row}/", {"metadata": {"coco_id": 1}}, content_type="application/json"
    )
    assert patched.status_code == 200, patched.content
    job = imported(editor, form(street["id"]))

    # Image 1's two items are refused; image 2 no longer names a row; image 3 is written.
    assert counters(job) == ("succeeded", 4, 1, 1, 3)
    ambiguous = [e for e in job["errors"] if e["message"].startswith("ambiguous_row")]
    assert [e["line"] for e in ambiguous] == ["[0]", "[3]"]
    assert "COCO image id 1 matches 2 rows" in ambiguous[0]["message"]


def test_a_row_given_more_than_a_thousand_predictions_is_refused(tenant, editor, street):
    line = {"external_id": "street/0001.jpg", "predictions": [car()] * 1001}
    job = imported(editor, form(street["id"], "many.jsonl", jsonl([line])))

    assert counters(job) == ("failed", 1, 0, 0, 1)
    assert job["errors"][0]["message"].startswith("too_many_predictions: the file holds 1001")


def test_a_file_naming_rows_two_ways_refuses_the_lines_not_named_as_the_first(
    tenant, editor, street
):
    row = street_row_id(tenant, street["id"], "street/0002.jpg")
    lines = [
        {"external_id": "street/0001.jpg", "predictions": [car()]},
        {"row": row, "predictions": [car()]},
    ]
    job = imported(editor, form(street["id"], "mixed.jsonl", jsonl(lines)))

    assert counters(job) == ("succeeded", 2, 1, 1, 1)
    assert (job["errors"][0]["line"], job["errors"][0]["field"]) == (2, "row")
    assert "name every row of a file the same way" in job["errors"][0]["message"]


def test_a_coco_file_broken_past_its_first_bytes_fails_and_writes_nothing(tenant, editor, street):
    truncated = (FILES / "results.coco.json").read_bytes()[:-10]
    job = imported(editor, form(street["id"], "cut.json", truncated))

    assert job["status"] == "failed"
    assert job["detail"].startswith("not_coco_results: not a COCO results file")
    assert stored(tenant, job["model_version"]) == []


# --- Refused requests ----------------------------------------------------------------------


@pytest.fixture
def trained(tenant) -> ModelVersion:
    """Version 1 of `street-cnn`, a classification model a training made."""
    with tenant_context(tenant):
        model = Model.objects.create(name="street-cnn", task="classification")
        return ModelVersion.objects.create(model=model, version=1, spec="small_cnn", artifact="x")


REFUSED = [
    ({"format": "csv"}, 400, "invalid", "format"),
    ({"file": None}, 400, "invalid", "file"),
    ({"dataset": 10**9}, 400, "unknown_dataset", "dataset"),
    ({"model": "no spaces please"}, 400, "invalid_model_name", "model"),
    ({"model": "new-model", "task": None}, 400, "task_required", "task"),
    ({"model": "street-cnn", "task": "detection"}, 400, "model_task_mismatch", "task"),
    ({"model": "street-cnn", "task": None, "version": 7}, 400, "unknown_version", "version"),
    ({"model": "street-cnn", "task": None, "version": 1}, 409, "version_not_external", "version"),
    ({"categories": None}, 400, "categories_required", "categories"),
    (
        {"categories": json.dumps([*CATEGORIES, {"id": 1, "name": "bus"}])},
        400,
        "invalid_categories",
        "categories[2].id",
    ),
    ({"categories": "[{"}, 400, "invalid", "categories"),
    (
        {"file": SimpleUploadedFile("street.coco.json", (FILES / "street.coco.json").read_bytes())},
        400,
        "not_coco_results",
        "file",
    ),
    ({"file": SimpleUploadedFile("empty.json", b" \n\t")}, 400, "empty_file", "file"),
    ({"format": "jsonl", "categories": None}, 400, "not_jsonl", "file"),
    ({"format": "jsonl"}, 400, "invalid_categories", "categories"),
]


@pytest.mark.parametrize(("fields", "status", "code", "field"), REFUSED)
def test_a_refused_import_says_which_field_to_fix_and_stores_nothing(
    tenant, editor, street, trained, fields, status, code, field
):
    response = editor.post("/api/v1/prediction-imports/", form(street["id"], **fields))

    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert field in response.json()["fields"]
    with tenant_context(tenant):
        assert not PredictionImport.objects.using("default").exists()
        assert list(ModelVersion.objects.using("default").values_list("pk", flat=True)) == [
            trained.pk
        ]


def test_another_tenants_import_is_not_found(other_tenant, editor, street, make_member, client_for):
    job = imported(editor, form(street["id"]))
    stranger = client_for(other_tenant, make_member(other_tenant, Role.OWNER))

    assert stranger.get(f"/api/v1/prediction-imports/{job['id']}/").status_code == 404
    export = f"/api/v1/model-versions/{job['model_version']}/predictions/export?format=jsonl"
    assert stranger.get(export).status_code == 404


# --- Resuming ------------------------------------------------------------------------------


def street_row_id(tenant, dataset_id: int, external_id: str) -> int:
    from apps.datasets.models import DataRow

    with tenant_context(tenant):
        return (
            DataRow.objects.using("default").get(dataset_id=dataset_id, external_id=external_id).pk
        )


def local_import(tenant, dataset_id: int, name: str) -> PredictionImport:
    """An import of an example file into a new external version, recorded but not sent to
    a worker: the test runs it here."""
    with tenant_context(tenant):
        model = Model.objects.create(name=f"local-{uuid.uuid4().hex[:8]}", task="detection")
        version = ModelVersion.objects.create(
            model=model, version=1, spec="external", classes=["car", "person"], artifact=""
        )
        file_name = default_storage.save(
            f"{tenant.schema_name}/prediction-imports/{uuid.uuid4().hex}/{name}",
            ContentFile((FILES / name).read_bytes()),
        )
        return PredictionImport.objects.create(
            dataset_id=dataset_id, model_version=version, format="coco", file_name=file_name,
            categories=CATEGORIES,
        )  # fmt: skip


@override_settings(IMPORT_BATCH_SIZE=1)
def test_an_import_stopped_after_a_batch_resumes_after_it_with_no_duplicate_and_no_gap(
    tenant, street
):
    job = local_import(tenant, street["id"], "results.coco.json")

    def die_after_the_first_row(progress):
        raise Stopped

    with tenant_context(tenant):
        with pytest.raises(Stopped):
            run_prediction_import(job_id=job.pk, on_progress=die_after_the_first_row)
        interrupted = PredictionImport.objects.using("default").get(pk=job.pk)
        # The first row's two items, apart in the file, were one batch.
        assert (interrupted.status, interrupted.records_done, interrupted.rows_matched) == (
            "running",
            2,
            1,
        )

        assert run_prediction_import(job_id=job.pk) == "succeeded"
        finished = PredictionImport.objects.using("default").get(pk=job.pk)
    assert (finished.records_done, finished.rows_matched, finished.predictions_written) == (4, 3, 4)
    assert (finished.attempts, finished.failed) == (2, 0)
    assert stored(tenant, job.model_version_id) == EXAMPLE


def test_running_a_finished_import_again_changes_nothing(tenant, street):
    job = local_import(tenant, street["id"], "results.coco.json")
    with tenant_context(tenant):
        assert run_prediction_import(job_id=job.pk) == "succeeded"
        assert run_prediction_import(job_id=job.pk) == "succeeded"
        assert PredictionImport.objects.using("default").get(pk=job.pk).records_done == 4
    assert stored(tenant, job.model_version_id) == EXAMPLE


# --- The documentation ---------------------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_the_documentation_shows_each_example_file_as_the_tests_import_it(name):
    documentation = (Path(__file__).parents[2] / "docs" / "prediction-files.md").read_text()
    assert (FILES / name).read_text() in documentation
