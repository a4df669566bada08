"""A run survives its worker: SIGKILLed pool process (the broker hands the task back) or a
whole worker SIGKILLed (the job sweep, sent by the real beat, queues it again for another
worker). Either way the run resumes from its checkpoint with each epoch recorded once."""

from __future__ import annotations

import os
import signal

from tests.support import processes
from tests.training.conftest import events_of, started, wait_for_event, wait_for_run

# Over every digit: an epoch lasts long enough to hold a checkpoint (one a second here).
LONG = {"epochs": 4, "batch_size": 16}


def _inside_second_epoch(event: dict) -> bool:
    """A checkpoint taken inside the second epoch (TRAINING_CHECKPOINT_SECONDS is 1 here)."""
    data = event["data"]
    return event["type"] == "checkpoint.saved" and data["epoch"] == 2 and data.get("position")


def _assert_resumed_with_each_epoch_once(client, run_id: int) -> list[dict]:
    finished = wait_for_run(client, run_id, timeout=240)
    assert finished["status"] == "succeeded", finished["error"]
    assert finished["attempts"] == 2
    metrics = client.get(f"/api/v1/training-runs/{run_id}/metrics/").json()
    assert metrics["epochs"] == [1, 2, 3, 4]
    events = events_of(client, run_id)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    finished_epochs = [e["data"]["epoch"] for e in events if e["type"] == "epoch.finished"]
    assert finished_epochs == [1, 2, 3, 4]
    (resumed,) = [e["data"] for e in events if e["type"] == "run.resumed"]
    # The kill landed mid-run, and the resume started inside the epoch it stopped in.
    assert resumed["epoch"] == 2 and resumed["position"] > 0
    return events


def test_a_run_whose_pool_process_is_sigkilled_is_resumed_from_its_checkpoint(
    gpu_worker, editor, all_digits
):
    run = started(editor, all_digits["id"], hyperparameters=LONG)
    wait_for_event(editor, run["id"], _inside_second_epoch)
    (child,) = processes.pool_children(gpu_worker.process.process.pid)
    os.kill(child, signal.SIGKILL)

    _assert_resumed_with_each_epoch_once(editor, run["id"])


def test_a_run_whose_worker_is_sigkilled_is_finished_by_another_worker(
    gpu_worker, celery_worker, editor, all_digits
):
    run = started(editor, all_digits["id"], hyperparameters=LONG)
    wait_for_event(editor, run["id"], _inside_second_epoch)
    processes.kill_process_group(gpu_worker.process.process)
    gpu_worker.start()

    events = _assert_resumed_with_each_epoch_once(editor, run["id"])
    requeued = [e for e in events if e["type"] == "run.requeued"]
    assert [e["data"]["reason"] for e in requeued] == ["worker_lost"]
