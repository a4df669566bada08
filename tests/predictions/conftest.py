"""Fixtures for predictions: the demo digits (a few hundred of them, or all), a model version
trained on them through the API, and ways to run inference and evaluations and to wait for
them."""

from __future__ import annotations

import time

import pytest

from tests.predictions.prediction_files import street  # noqa: F401
from tests.support.database import wait_for_replica_catch_up
from tests.training.conftest import (  # noqa: F401
    QUICK_LR,
    editor,
    import_demo,
    make_slice,
    started,
    viewer,
    wait_for_run,
)

FINAL = ("succeeded", "failed", "cancelled")


# The first digits of the 1,797, every class among them: enough to predict on, and quick.
ROWS = 400


def _digits_slice(tenant, client, *options: str) -> dict:
    import_demo(tenant, *options, "--shapes", "1")
    datasets = client.get("/api/v1/datasets/").json()["results"]
    dataset = next(d for d in datasets if d["name"] == "digits")
    return make_slice(client, dataset["id"], "all digits")


@pytest.fixture
def digits(tenant, editor) -> dict:  # noqa: F811
    """A slice of the first ROWS demo digits."""
    return _digits_slice(tenant, editor, "--digits", str(ROWS))


@pytest.fixture
def all_digits(tenant, editor) -> dict:  # noqa: F811
    """A slice of every one of the 1,797 demo digits."""
    return _digits_slice(tenant, editor)


@pytest.fixture
def digits_version(gpu_worker, editor, digits) -> dict:  # noqa: F811
    """Version 1 of `digits-lr`: logistic regression on the digits (seconds to train)."""
    run = started(editor, digits["id"], "logistic_regression", model="digits-lr", **QUICK_LR)
    finished = wait_for_run(editor, run["id"])
    assert finished["status"] == "succeeded", finished["error"]
    return editor.get(f"/api/v1/model-versions/{finished['model_version']}/").json()


def submit_inference(client, version_id: int, slice_id: int, **fields):
    body = {"model_version": version_id, "slice": slice_id, **fields}
    return client.post("/api/v1/inference-runs/", body, content_type="application/json")


def inferred(client, version_id: int, slice_id: int, **fields) -> dict:
    """An inference run, submitted and waited for to its end."""
    response = submit_inference(client, version_id, slice_id, **fields)
    assert response.status_code == 202, response.content
    return wait_for_job(client, "inference-runs", response.json()["id"])


def wait_for_job(client, path: str, job_id: int, timeout: float = 180.0, statuses=FINAL) -> dict:
    wait_for_replica_catch_up()  # the job was made on the primary a moment ago
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/{path}/{job_id}/").json()
        if job["status"] in statuses:
            return job
        time.sleep(0.2)
    raise AssertionError(f"{path} {job_id} did not reach {statuses}: {job}")


def job_events(client, path: str, job_id: int, after: int = 0) -> list[dict]:
    events, url = [], f"/api/v1/{path}/{job_id}/events/?after={after}&limit=100"
    while url:
        page = client.get(url).json()
        events += page["results"]
        url = page["next"]
    return events


def evaluate(client, version_id: int, slice_id: int, **fields):
    body = {"model_version": version_id, "slice": slice_id, **fields}
    return client.post("/api/v1/evaluations/", body, content_type="application/json")
