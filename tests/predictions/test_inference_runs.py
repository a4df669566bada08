"""Batch inference through the API, as a new user runs it: a trained version over a snapshot
of the demo digits on the real gpu worker, followed live, each row's predictions read back
and held to the model's own output; run again, cancelled, refused."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django_tenants.utils import tenant_context
from websockets.sync.client import connect

from apps.datasets.models import DataRow
from apps.predictions.models import Prediction
from apps.training.models import ModelVersion
from apps.training.runs import local_copy
from apps.training.targets import Sample
from tenants.roles import Role
from tests.conftest import host_of, token_for
from tests.predictions.conftest import (
    ROWS,
    evaluate,
    inferred,
    job_events,
    submit_inference,
    wait_for_job,
)
from tests.training.conftest import make_slice
from workers.engines.images import open_image
from workers.engines.registry import load_engine

TOP = 3  # INFERENCE_TOP_CLASSES


def _socket(server, tenant, user, run_id: int, after: int | None = None):
    query = "" if after is None else f"?after={after}"
    return connect(
        f"ws://127.0.0.1:{server.port}/ws/inference-runs/{run_id}/{query}",
        additional_headers={"Host": host_of(tenant)},
        subprotocols=["bearer", token_for(tenant, user)],
        open_timeout=10,
    )


def _follow(ws) -> list[dict]:
    events = []
    while True:
        event = json.loads(ws.recv(timeout=120))
        events.append(event)
        if event["type"] in ("inference.succeeded", "inference.failed", "inference.cancelled"):
            return events


def test_an_inference_run_streams_the_snapshot_and_stores_the_top_classes_of_each_row(
    asgi_server, tenant, editor, viewer, digits, digits_version, make_member
):
    response = submit_inference(editor, digits_version["id"], digits["id"])
    assert response.status_code == 202, response.content
    run = response.json()
    assert (run["status"], run["snapshot"], run["rows_total"]) == ("queued", 2, ROWS)
    with _socket(asgi_server, tenant, make_member(tenant, Role.VIEWER), run["id"]) as ws:
        live = _follow(ws)
    assert [e["seq"] for e in live] == list(range(1, len(live) + 1))
    types = [e["type"] for e in live]
    assert types[:2] == ["inference.queued", "inference.started"]
    assert types[-1] == "inference.succeeded"
    progress = [e["data"]["rows_done"] for e in live if e["type"] == "chunk.progress"]
    assert progress == list(range(100, ROWS + 1, 100))

    finished = wait_for_job(editor, "inference-runs", run["id"])
    assert finished["rows_done"] == ROWS and finished["predictions_written"] == ROWS * TOP

    with tenant_context(tenant):
        rows = list(DataRow.objects.filter(dataset__name="digits").order_by("id")[:25])
        version = ModelVersion.objects.get(pk=digits_version["id"])
        with local_copy(version.artifact) as path:
            engine = load_engine(version.spec, path)
        expected = engine.predict([open_image(Sample(r.id, r.media_uri, ()), "L") for r in rows])
    for row, own in zip(rows, expected, strict=True):
        stored = viewer.get(f"/api/v1/rows/{row.id}/predictions/").json()
        assert [p["rank"] for p in stored] == list(range(TOP))
        assert {(p["model"], p["version"], p["model_version"]) for p in stored} == {
            ("digits-lr", 1, digits_version["id"])
        }
        assert [p["class"] for p in stored] == [p.class_name for p in own[:TOP]]
        # Batched differently, the same model's scores agree to float rounding.
        scores = [p.score for p in own[:TOP]]
        assert [p["score"] for p in stored] == pytest.approx(scores, abs=1e-6)
        assert all(p["geometry"] is None and p["eval"] is None for p in stored)
        assert set(stored[0]) >= {"id", "model", "version", "model_version", "class", "score",
                                  "geometry", "eval", "iou"}  # fmt: skip


def _stored(tenant, version_id: int) -> list[tuple[int, int]]:
    with tenant_context(tenant):
        return list(
            Prediction.objects.filter(model_version_id=version_id)
            .order_by("data_row_id", "rank")
            .values_list("data_row_id", "rank")
        )


def test_running_a_version_again_over_the_same_rows_replaces_its_predictions(
    tenant, editor, digits, digits_version
):
    first = inferred(editor, digits_version["id"], digits["id"])
    before, first_ids = _stored(tenant, digits_version["id"]), _ids(tenant, digits_version["id"])
    again = inferred(editor, digits_version["id"], digits["id"], snapshot=first["snapshot"])
    assert (first["status"], again["status"]) == ("succeeded", "succeeded")
    assert again["snapshot"] == first["snapshot"]
    assert again["predictions_written"] == ROWS * TOP  # written anew, the old ones gone
    after = _stored(tenant, digits_version["id"])
    assert after == before and len(after) == ROWS * TOP
    assert first_ids.isdisjoint(_ids(tenant, digits_version["id"]))


def _ids(tenant, version_id: int) -> set[int]:
    with tenant_context(tenant):
        return set(
            Prediction.objects.filter(model_version_id=version_id).values_list("id", flat=True)
        )


def test_a_queued_run_is_cancelled_at_once_and_never_starts(editor, digits, digits_version):
    ahead = submit_inference(editor, digits_version["id"], digits["id"]).json()
    queued = submit_inference(editor, digits_version["id"], digits["id"], snapshot=2).json()
    cancelled = editor.post(f"/api/v1/inference-runs/{queued['id']}/cancel/")
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "cancelled"
    assert wait_for_job(editor, "inference-runs", ahead["id"])["status"] == "succeeded"
    types = [e["type"] for e in job_events(editor, "inference-runs", queued["id"])]
    assert types == ["inference.queued", "inference.cancelled"]
    refused = editor.post(f"/api/v1/inference-runs/{ahead['id']}/cancel/")
    assert refused.status_code == 409 and refused.json()["code"] == "job_finished"


def test_a_running_run_stops_at_the_next_chunk_keeping_what_it_committed(
    tenant, editor, digits, digits_version, settings
):
    settings.INFERENCE_CHUNK_ROWS = 5  # 80 chunks: the cancel lands inside the run
    run = submit_inference(editor, digits_version["id"], digits["id"]).json()
    wait_for_job(editor, "inference-runs", run["id"], statuses=("running",))
    editor.post(f"/api/v1/inference-runs/{run['id']}/cancel/")
    stopped = wait_for_job(editor, "inference-runs", run["id"])
    assert stopped["status"] == "cancelled" and 0 <= stopped["rows_done"] < ROWS
    assert stopped["rows_done"] % 5 == 0
    assert len(_stored(tenant, digits_version["id"])) == stopped["rows_done"] * TOP


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"model_version": 999999}, "unknown_model_version", "model_version"),
        ({"slice": 999999}, "unknown_slice", "slice"),
        ({"snapshot": 99}, "unknown_snapshot", "snapshot"),
        ({"model_version": "one"}, "invalid", "model_version"),
    ],
)
def test_a_refused_run_says_which_field_and_stores_nothing(
    tenant, editor, digits, digits_version, body, code, field
):
    fields = {"model_version": digits_version["id"], "slice": digits["id"], **body}
    response = editor.post("/api/v1/inference-runs/", fields, content_type="application/json")
    assert response.status_code == 400, response.content
    error = response.json()
    assert error["code"] == code and field in error["fields"]
    assert editor.get("/api/v1/inference-runs/").json()["results"] == []


def test_a_slice_that_matches_nothing_is_refused_and_no_snapshot_is_kept(
    tenant, editor, digits, digits_version
):
    empty = make_slice(editor, digits["dataset"], "none", "width > 1000")
    response = submit_inference(editor, digits_version["id"], empty["id"])
    assert response.status_code == 400 and response.json()["code"] == "empty_snapshot"
    assert editor.get(f"/api/v1/slices/{empty['id']}/snapshots/").json()["results"] == []


def test_a_viewer_reads_runs_but_cannot_start_one(viewer, digits, digits_version):
    response = submit_inference(viewer, digits_version["id"], digits["id"])
    assert response.status_code == 403
    assert viewer.get("/api/v1/inference-runs/").status_code == 200


def test_runs_evaluations_and_predictions_are_in_the_tenant_admin(
    tenant, editor, digits, digits_version
):
    run = inferred(editor, digits_version["id"], digits["id"])
    evaluation = evaluate(editor, digits_version["id"], digits["id"], snapshot=run["snapshot"])
    owner = tenant.memberships.get(role=Role.OWNER).user
    admin = Client(HTTP_HOST=host_of(tenant))
    admin.force_login(owner)
    for page in (
        "/admin/predictions/inferencerun/",
        f"/admin/predictions/inferencerun/{run['id']}/change/",
        "/admin/predictions/evaluation/",
        f"/admin/predictions/evaluation/{evaluation.json()['id']}/change/",
        "/admin/predictions/prediction/",
    ):
        response = admin.get(page)
        assert response.status_code == 200, page
    assert "digits-lr v1" in admin.get("/admin/predictions/inferencerun/").content.decode()
