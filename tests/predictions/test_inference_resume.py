"""An inference run survives its worker: a SIGKILLed pool process (the broker hands the task
back) or a whole worker SIGKILLed (the job sweep, sent by the real beat, queues it again).
Either way it resumes after its last committed chunk: every row predicted once, none twice."""

from __future__ import annotations

import os
import signal
import time

import pytest
from django_tenants.utils import tenant_context

from apps.predictions.models import Prediction
from tests.predictions.conftest import ROWS, job_events, submit_inference, wait_for_job
from tests.support import processes

TOP = 3
CHUNK = 5  # 80 chunks: the kill lands well inside the run


@pytest.fixture(autouse=True)
def _small_chunks(settings):
    settings.INFERENCE_CHUNK_ROWS = CHUNK  # read when the run is submitted, here


def _after_a_few_chunks(client, run_id: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if client.get(f"/api/v1/inference-runs/{run_id}/").json()["rows_done"] >= 3 * CHUNK:
            return
        time.sleep(0.05)
    raise AssertionError(f"inference run {run_id} made no progress")


def _assert_resumed_once_with_every_row_once(tenant, client, run_id: int, version_id: int):
    finished = wait_for_job(client, "inference-runs", run_id, timeout=240)
    assert finished["status"] == "succeeded", finished["error"]
    assert finished["attempts"] == 2 and finished["rows_done"] == ROWS
    events = job_events(client, "inference-runs", run_id)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    (resumed,) = [e["data"] for e in events if e["type"] == "inference.resumed"]
    assert 3 * CHUNK <= resumed["rows_done"] < ROWS and resumed["rows_done"] % CHUNK == 0
    done = [e["data"]["rows_done"] for e in events if e["type"] == "chunk.progress"]
    # Each chunk committed once: the progress after the resume carries straight on.
    assert done == [*range(CHUNK, ROWS, CHUNK), ROWS]
    with tenant_context(tenant):
        per_row = Prediction.objects.filter(model_version_id=version_id).values_list(
            "data_row_id", "rank"
        )
        pairs = list(per_row)
    assert len(pairs) == len(set(pairs)) == ROWS * TOP
    return events


def test_a_run_whose_pool_process_is_sigkilled_resumes_after_its_last_chunk(
    gpu_worker, tenant, editor, digits, digits_version
):
    run = submit_inference(editor, digits_version["id"], digits["id"]).json()
    _after_a_few_chunks(editor, run["id"])
    (child,) = processes.pool_children(gpu_worker.process.process.pid)
    os.kill(child, signal.SIGKILL)

    _assert_resumed_once_with_every_row_once(tenant, editor, run["id"], digits_version["id"])


def test_a_run_whose_worker_is_sigkilled_is_finished_by_another_worker(
    gpu_worker, celery_worker, tenant, editor, digits, digits_version
):
    run = submit_inference(editor, digits_version["id"], digits["id"]).json()
    _after_a_few_chunks(editor, run["id"])
    processes.kill_process_group(gpu_worker.process.process)
    gpu_worker.start()

    events = _assert_resumed_once_with_every_row_once(
        tenant, editor, run["id"], digits_version["id"]
    )
    requeued = [e for e in events if e["type"] == "inference.requeued"]
    assert [e["data"]["reason"] for e in requeued] == ["worker_lost"]
