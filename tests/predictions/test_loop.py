"""The loop in one walk, as a new user goes round it on the demo digits: import, slice,
snapshot, train, infer, evaluate, cut a slice of the rows the model got wrong or was unsure
of (checked on both search backends against an oracle over the stored predictions), train the
next version on it from the first, infer again, and ask the predict server about a row with a
session token."""

from __future__ import annotations

import time

import httpx
import pytest
from django_tenants.utils import tenant_context

from apps.predictions.models import Prediction
from tests.conftest import host_of, session_token_for
from tests.predictions.conftest import evaluate, inferred
from tests.support import processes
from tests.training.conftest import make_slice, started, wait_for_run

HARD = (
    "prediction(model = 'digits-cnn' AND version = 1 "
    "AND (eval = 'fp' OR (rank = 0 AND score < 0.6)))"
)


def _hard_rows_by_hand(tenant, version_id: int) -> set[int]:
    """The oracle: rows whose top prediction is wrong or scored below 0.6."""
    with tenant_context(tenant):
        tops = Prediction.objects.filter(model_version_id=version_id, rank=0)
        return {p.data_row_id for p in tops if p.eval == "fp" or p.score < 0.6}


def _count(client, query: str, backend: str, dataset: int) -> int:
    body = {"query": query, "datasets": [dataset], "backend": backend}
    response = client.post("/api/v1/search/count/", body, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()["count"]


def _indexed_count(client, query: str, dataset: int, expected: int) -> int:
    """Elasticsearch's count once the outbox has carried the verdicts there."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        count = _count(client, query, "elasticsearch", dataset)
        if count == expected:
            return count
        time.sleep(0.5)
    return count


@pytest.fixture
def predict_server(live_db, tmp_path):
    with processes.asgi_server(tmp_path / "predict.log", app="loupe.serving_asgi:application") as (
        server
    ):
        yield server


@pytest.mark.timeout(900)
def test_the_loop_from_import_to_a_second_version_trained_on_the_rows_it_got_wrong(
    tenant, celery_worker, gpu_worker, predict_server, editor, viewer, all_digits
):
    digits = all_digits
    dataset = digits["dataset"]
    first = started(
        editor, digits["id"], "small_cnn", model="digits-cnn", hyperparameters={"epochs": 1}
    )
    first = wait_for_run(editor, first["id"], timeout=300)
    assert first["status"] == "succeeded", first["error"]
    v1 = first["model_version"]

    assert inferred(editor, v1, digits["id"], snapshot=1)["status"] == "succeeded"
    figures = evaluate(editor, v1, digits["id"], snapshot=1).json()["metrics"]
    with tenant_context(tenant):
        tops = Prediction.objects.filter(model_version_id=v1, rank=0)
        right = sum(p.eval == "tp" for p in tops)
    assert figures["accuracy"] == pytest.approx(right / 1797)

    hard = _hard_rows_by_hand(tenant, v1)
    assert 0 < len(hard) < 1797
    assert _count(viewer, HARD, "postgres", dataset) == len(hard)
    assert _indexed_count(viewer, HARD, dataset, len(hard)) == len(hard)

    hard_slice = make_slice(editor, dataset, "hard digits", HARD)
    snapshot = editor.post(f"/api/v1/slices/{hard_slice['id']}/snapshots/").json()
    assert snapshot["row_count"] == len(hard)
    second = started(
        editor, hard_slice["id"], "small_cnn", model="digits-cnn", snapshot=snapshot["number"],
        parent_version=v1, hyperparameters={"epochs": 1},
    )  # fmt: skip
    second = wait_for_run(editor, second["id"], timeout=300)
    assert second["status"] == "succeeded", second["error"]
    assert second["split"]["train_rows"] + second["split"]["validation_rows"] == len(hard)
    v2 = editor.get(f"/api/v1/model-versions/{second['model_version']}/").json()
    assert (v2["model"], v2["version"], v2["training_run"]) == ("digits-cnn", 2, second["id"])

    assert inferred(editor, v2["id"], digits["id"], snapshot=1)["status"] == "succeeded"
    assert evaluate(editor, v2["id"], digits["id"], snapshot=1).status_code == 201
    compared = viewer.get(f"/api/v1/models/digits-cnn/compare/?slice={digits['id']}&snapshot=1")
    assert [v["version"] for v in compared.json()["versions"]] == [1, 2]
    # Each version keeps its own layer on every row.
    row = next(iter(hard))
    layers = viewer.get(f"/api/v1/rows/{row}/predictions/?model=digits-cnn").json()
    assert {p["version"] for p in layers} == {1, 2}

    # Online, with a session token: the same class as the stored prediction of that row.
    stored_top = layers_of(viewer, row, version=2)[0]
    answer = httpx.post(
        f"{predict_server.url}/api/v1/models/digits-cnn/versions/2/predict/",
        json={"row": row},
        headers={"Host": host_of(tenant), "Authorization": f"Bearer {session_token_for(tenant)}"},
        timeout=120,
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["model"], body["version"]) == ("digits-cnn", 2)
    assert body["predictions"][0]["class"] == stored_top["class"]
    assert body["predictions"][0]["score"] == pytest.approx(stored_top["score"], abs=1e-4)
    assert body["timing"]["forward_ms"] > 0


def layers_of(client, row: int, version: int) -> list[dict]:
    return client.get(f"/api/v1/rows/{row}/predictions/?model=digits-cnn&version={version}").json()
