"""Training through the API, as a new user does it: the demo digits, a slice, a run on the
real gpu worker followed live over the WebSocket, and the model version it registers."""

from __future__ import annotations

import io
import json
from pathlib import Path
from tempfile import NamedTemporaryFile

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from django_tenants.utils import tenant_context
from PIL import Image
from websockets.exceptions import ConnectionClosed

from apps.datasets.models import DataRow
from apps.slices.models import SliceSnapshot
from apps.training.models import ModelVersion, TrainingRun
from tenants.roles import Role
from tests.conftest import host_of
from tests.training.conftest import (
    QUICK_LR,
    events_of,
    follow_to_end,
    make_slice,
    run_socket,
    started,
    submit,
    wait_for_event,
    wait_for_run,
)
from workers.engines.registry import engine_for


def test_a_cnn_run_is_followed_live_from_first_event_to_last_and_registers_a_version(
    asgi_server, gpu_worker, tenant, editor, all_digits, make_member
):
    viewer = make_member(tenant, Role.VIEWER)
    run = started(editor, all_digits["id"], hyperparameters={"epochs": 3}, model="digits-cnn")
    assert (run["status"], run["snapshot"], run["epochs"]) == ("queued", 1, 3)

    with run_socket(asgi_server, tenant, viewer, run["id"]) as ws:
        live = follow_to_end(ws)

    assert [e["seq"] for e in live] == list(range(1, len(live) + 1))
    types = [e["type"] for e in live]
    assert types[:2] == ["run.queued", "run.started"] and types[-1] == "run.succeeded"
    assert types.count("epoch.finished") == 3 and "batch.progress" in types
    assert [e["data"]["epoch"] for e in live if e["type"] == "epoch.finished"] == [1, 2, 3]

    finished = wait_for_run(editor, run["id"])
    assert finished["status"] == "succeeded" and finished["device"] == "cpu"
    assert finished["classes"] == [str(d) for d in range(10)]
    assert finished["split"]["train_rows"] + finished["split"]["validation_rows"] == 1797
    assert finished["metrics"]["val_accuracy"] >= 0.90

    version = editor.get(f"/api/v1/model-versions/{finished['model_version']}/").json()
    assert (version["model"], version["version"], version["training_run"]) == (
        "digits-cnn",
        1,
        run["id"],
    )
    assert (version["classes"], version["slice"], version["snapshot"]) == (
        finished["classes"],
        all_digits["id"],
        1,
    )
    models = editor.get("/api/v1/models/").json()["results"]
    assert [(m["name"], m["latest_version"]) for m in models] == [("digits-cnn", 1)]


def test_joining_again_replays_the_same_history_and_after_n_sends_the_rest(
    asgi_server, gpu_worker, tenant, editor, digits, make_member
):
    viewer = make_member(tenant, Role.VIEWER)
    run = started(editor, digits["id"], hyperparameters={"epochs": 1})
    wait_for_run(editor, run["id"])
    stored = events_of(editor, run["id"])

    with run_socket(asgi_server, tenant, viewer, run["id"]) as ws:
        replayed = follow_to_end(ws)
    with run_socket(asgi_server, tenant, viewer, run["id"], after=3) as ws:
        rest = follow_to_end(ws)

    assert replayed == stored
    assert rest == stored[3:]


def test_metrics_are_a_series_with_one_point_per_epoch(gpu_worker, editor, digits):
    run = started(editor, digits["id"], hyperparameters={"epochs": 2})
    wait_for_run(editor, run["id"])
    metrics = editor.get(f"/api/v1/training-runs/{run['id']}/metrics/").json()
    assert metrics["epochs"] == [1, 2]
    assert set(metrics["series"]) == {"train_loss", "val_loss", "val_accuracy"}
    assert all(len(series) == 2 for series in metrics["series"].values())


def test_a_classical_spec_reaches_090_on_the_digits(gpu_worker, editor, all_digits):
    run = started(editor, all_digits["id"], spec="logistic_regression")
    finished = wait_for_run(editor, run["id"])
    assert finished["status"] == "succeeded", finished["error"]
    assert finished["metrics"]["val_accuracy"] >= 0.90
    assert editor.get(f"/api/v1/model-versions/{finished['model_version']}/").json()["spec"] == (
        "logistic_regression"
    )


def test_a_second_run_of_a_model_is_its_version_2_warm_started_from_version_1(
    gpu_worker, editor, all_digits
):
    first = wait_for_run(
        editor, started(editor, all_digits["id"], hyperparameters={"epochs": 1}, model="m")["id"]
    )
    second = started(
        editor,
        all_digits["id"],
        hyperparameters={"epochs": 1},
        model="m",
        parent_version=first["model_version"],
    )
    finished = wait_for_run(editor, second["id"])
    assert finished["parent_version"] == first["model_version"]
    version = editor.get(f"/api/v1/model-versions/{finished['model_version']}/").json()
    assert version["version"] == 2
    # Warm-started from a trained model, one epoch lands beyond what one epoch from scratch
    # reaches.
    assert finished["metrics"]["val_accuracy"] > first["metrics"]["val_accuracy"]


def test_a_bad_learning_rate_is_refused_naming_the_field_and_stores_nothing(tenant, editor, digits):
    response = submit(editor, digits["id"], hyperparameters={"learning_rate": 5})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_hyperparameters"
    assert list(body["fields"]) == ["hyperparameters.learning_rate"]
    with tenant_context(tenant):
        assert not TrainingRun.objects.using("default").exists()
        assert not SliceSnapshot.objects.using("default").exists()


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"spec": "nope"}, "unknown_spec", "spec"),
        ({"slice": 999999}, "unknown_slice", "slice"),
        ({"snapshot": 9}, "unknown_snapshot", "snapshot"),
        ({"hyperparameters": {"depth": 3}}, "invalid_hyperparameters", "hyperparameters.depth"),
        ({"hyperparameters": {"epochs": 0}}, "invalid_hyperparameters", "hyperparameters.epochs"),
        ({"model": "no spaces"}, "invalid_model_name", "model"),
        ({"parent_version": 99}, "unknown_parent_version", "parent_version"),
    ],
)
def test_bad_references_are_refused_naming_the_field(editor, digits, fields, code, field):
    body = {"spec": "small_cnn", "slice": digits["id"]} | fields
    response = submit(editor, body.pop("slice"), body.pop("spec"), **body)
    assert (response.status_code, response.json()["code"]) == (400, code)
    assert field in response.json()["fields"]


def test_an_empty_slice_is_refused_and_leaves_no_snapshot(tenant, editor, digits):
    empty = make_slice(editor, digits["dataset"], "none", "tags CONTAINS 'nothing'")
    response = submit(editor, empty["id"])
    assert (response.status_code, response.json()["code"]) == (400, "empty_snapshot")
    assert editor.get(f"/api/v1/slices/{empty['id']}/snapshots/").json()["results"] == []


def test_parents_must_be_a_deep_version_of_the_same_spec(gpu_worker, editor, digits):
    classical = wait_for_run(
        editor, started(editor, digits["id"], "logistic_regression", **QUICK_LR)["id"]
    )
    version = classical["model_version"]
    mismatch = submit(editor, digits["id"], "small_cnn", parent_version=version)
    assert mismatch.json()["code"] == "parent_spec_mismatch"
    classical_parent = submit(editor, digits["id"], "logistic_regression", parent_version=version)
    assert classical_parent.json()["code"] == "parent_not_supported"
    other_task = submit(
        editor, digits["id"], "fasterrcnn_mobilenet_v3", model="logistic_regression"
    )
    assert (other_task.status_code, other_task.json()["code"]) == (400, "model_task_mismatch")


def test_a_running_run_is_cancelled_within_seconds_keeping_its_checkpoint(
    gpu_worker, editor, digits
):
    run = started(editor, digits["id"], hyperparameters={"epochs": 100})
    wait_for_event(editor, run["id"], lambda e: e["type"] == "batch.progress")
    response = editor.post(f"/api/v1/training-runs/{run['id']}/cancel/")
    assert response.status_code == 202 and response.json()["status"] == "cancelling"

    cancelled = wait_for_run(editor, run["id"], timeout=10)
    assert cancelled["status"] == "cancelled"
    types = [e["type"] for e in events_of(editor, run["id"])]
    assert types[-2:] == ["checkpoint.saved", "run.cancelled"]


def test_a_queued_run_cancelled_never_starts_and_shows_its_place_meanwhile(
    gpu_worker, editor, digits
):
    first = started(editor, digits["id"], hyperparameters={"epochs": 100})
    second = started(editor, digits["id"], hyperparameters={"epochs": 1})
    wait_for_event(editor, first["id"], lambda e: e["type"] == "run.started")
    assert editor.get(f"/api/v1/training-runs/{second['id']}/").json()["queue_position"] == 1

    assert editor.post(f"/api/v1/training-runs/{second['id']}/cancel/").json()["status"] == (
        "cancelled"
    )
    editor.post(f"/api/v1/training-runs/{first['id']}/cancel/")
    wait_for_run(editor, first["id"], timeout=30)
    assert [e["type"] for e in events_of(editor, second["id"])] == ["run.queued", "run.cancelled"]
    again = editor.post(f"/api/v1/training-runs/{second['id']}/cancel/")
    assert (again.status_code, again.json()["code"]) == (409, "run_finished")


def test_a_viewer_reads_runs_but_cannot_submit_and_other_tenants_see_nothing(
    asgi_server, tenant, other_tenant, editor, viewer, digits, make_member, client_for
):
    run = started(editor, digits["id"], hyperparameters={"epochs": 1})
    assert viewer.get(f"/api/v1/training-runs/{run['id']}/").status_code == 200
    assert submit(viewer, digits["id"]).status_code == 403
    stranger = make_member(other_tenant, Role.OWNER)
    outsider = client_for(other_tenant, stranger)
    assert outsider.get(f"/api/v1/training-runs/{run['id']}/").status_code == 404
    assert outsider.get("/api/v1/training-runs/").json()["results"] == []
    with (
        run_socket(asgi_server, other_tenant, stranger, run["id"]) as ws,
        pytest.raises(ConnectionClosed),
    ):
        ws.recv(timeout=10)
    assert ws.close_code == 4404


def test_runs_are_listed_newest_first_and_filtered_by_status(editor, digits):
    first = started(editor, digits["id"], hyperparameters={"epochs": 1}, experiment="lr")
    second = started(editor, digits["id"], hyperparameters={"epochs": 1})
    listed = editor.get("/api/v1/training-runs/").json()["results"]
    assert [r["id"] for r in listed] == [second["id"], first["id"]]
    by_experiment = editor.get("/api/v1/training-runs/?experiment=lr").json()["results"]
    assert [r["id"] for r in by_experiment] == [first["id"]]
    refused = editor.get("/api/v1/training-runs/?status=sleeping")
    assert (refused.status_code, list(refused.json()["fields"])) == (400, ["status"])


def test_a_slice_a_run_trained_on_cannot_be_deleted_and_stays_whole(tenant, editor, digits):
    run = started(editor, digits["id"], hyperparameters={"epochs": 1})
    response = editor.delete(f"/api/v1/slices/{digits['id']}/")
    assert (response.status_code, response.json()["code"]) == (409, "in_use")
    assert editor.get(f"/api/v1/slices/{digits['id']}/snapshots/1/").status_code == 200
    assert editor.get(f"/api/v1/training-runs/{run['id']}/").json()["snapshot"] == 1


def test_the_registered_artifact_loads_back_from_storage_and_predicts_the_digits(
    tenant, gpu_worker, editor, all_digits
):
    run = started(editor, all_digits["id"], hyperparameters={"epochs": 3})
    run = wait_for_run(editor, run["id"])
    with tenant_context(tenant):
        version = ModelVersion.objects.using("default").get(pk=run["model_version"])
        rows = list(DataRow.objects.filter(dataset_id=all_digits["dataset"]).order_by("id")[:50])
        truth = [row.annotations.get().class_name for row in rows]
        with default_storage.open(version.artifact, "rb") as stored, NamedTemporaryFile() as local:
            local.write(stored.read())
            local.flush()
            engine = engine_for(version.spec).load(local.name)
        images = [Image.open(default_storage.path(row.media_uri)) for row in rows]
    predicted = [predictions[0].class_name for predictions in engine.predict(images)]
    assert sum(p == t for p, t in zip(predicted, truth, strict=True)) >= 45


def test_runs_events_and_versions_are_in_the_tenant_admin(tenant, gpu_worker, editor, digits):
    run = wait_for_run(
        editor, started(editor, digits["id"], spec="logistic_regression", **QUICK_LR)["id"]
    )
    owner = tenant.memberships.get(role=Role.OWNER).user
    admin = Client(HTTP_HOST=host_of(tenant))
    admin.force_login(owner)
    for page in (
        "/admin/training/trainingrun/",
        f"/admin/training/trainingrun/{run['id']}/change/",
        "/admin/jobs/jobevent/",
        "/admin/training/modelversion/",
    ):
        response = admin.get(page)
        assert response.status_code == 200, page
    assert "logistic_regression run" in admin.get("/admin/training/trainingrun/").content.decode()


def test_a_detector_trains_on_the_shapes_bboxes_and_reports_map(gpu_worker, editor, digits):
    datasets = editor.get("/api/v1/datasets/").json()["results"]
    shapes = next(d for d in datasets if d["name"] == "shapes")
    slice = make_slice(editor, shapes["id"], "shapes")
    run = started(
        editor,
        slice["id"],
        spec="fasterrcnn_mobilenet_v3",
        hyperparameters={
            "epochs": 1,
            "batch_size": 2,
            "image_size": 64,
            "validation_fraction": 0.5,
        },
    )
    finished = wait_for_run(editor, run["id"])
    assert finished["status"] == "succeeded", finished["error"]
    classes = finished["classes"]
    assert classes == sorted(classes) and set(classes) <= {"circle", "square", "triangle"}
    assert {"train_loss", "val_map", "val_map50"} <= set(finished["metrics"])
    assert 0 <= finished["metrics"]["val_map"] <= finished["metrics"]["val_map50"] <= 1


def test_an_image_that_cannot_be_decoded_fails_the_run_naming_its_row(
    tenant, gpu_worker, editor, digits
):
    with tenant_context(tenant):
        row = DataRow.objects.filter(dataset_id=digits["dataset"]).order_by("id").first()
    Path(default_storage.path(row.media_uri)).write_bytes(b"not a png at all")
    run = wait_for_run(editor, started(editor, digits["id"], hyperparameters={"epochs": 1})["id"])
    assert run["status"] == "failed"
    assert run["error"].startswith(f"media_unreadable: row {row.pk}'s image {row.media_uri!r}")


def test_a_run_cannot_read_another_tenants_images(
    tenant, other_tenant, gpu_worker, digits, make_member, client_for, tmp_path
):
    with tenant_context(tenant):
        theirs = list(DataRow.objects.filter(dataset_id=digits["dataset"])[:20])
    outsider = client_for(other_tenant, make_member(other_tenant, Role.EDITOR))
    project = outsider.post("/api/v1/projects/", {"name": "p"}, content_type="application/json")
    dataset = outsider.post(
        "/api/v1/datasets/",
        {"project": project.json()["id"], "name": "borrowed"},
        content_type="application/json",
    ).json()
    lines = [
        {"external_id": f"b{i}", "media_uri": row.media_uri, "annotations": [{"class": str(i % 2)}]}
        for i, row in enumerate(theirs)
    ]
    path = tmp_path / "borrowed.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines))
    call_command(
        "import_dataset", "--tenant", other_tenant.slug, "--dataset", str(dataset["id"]),
        str(path), stdout=io.StringIO(),
    )  # fmt: skip
    slice = make_slice(outsider, dataset["id"], "borrowed")
    run = wait_for_run(
        outsider, started(outsider, slice["id"], hyperparameters={"epochs": 1})["id"]
    )
    assert run["status"] == "failed"
    assert (
        run["error"].startswith("media_unreadable: ")
        and "not in this tenant's storage" in (run["error"])
    )
