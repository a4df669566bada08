"""Training through the SDK: a run submitted, followed to its end with a line of metrics
per epoch, its version registered; its events replayed; a run cancelled."""

from __future__ import annotations

import pytest
from loupe_client import Conflict, ValidationError

from tests.clients.conftest import epochs_reported


def test_a_run_is_followed_to_its_end_with_a_line_of_metrics_per_epoch(
    gpu_worker, loupe, digits, capsys
):
    run = loupe.training_runs.submit(
        slice=digits["id"], spec="small_cnn", model="digits-cnn", hyperparameters={"epochs": 2}
    )
    finished = loupe.training_runs.wait(run, progress=True, timeout=180)
    shown = capsys.readouterr().err
    assert finished["status"] == "succeeded", finished["error"]
    assert epochs_reported(shown) == ["1", "2"], shown
    assert "epoch 2/2  train_loss" in shown and "val_accuracy" in shown
    version = loupe.models.get_version(finished["model_version"])
    assert (version["model"], version["version"]) == ("digits-cnn", 1)
    assert loupe.training_runs.metrics(finished)["epochs"] == [1, 2]


def test_a_runs_events_replay_in_order_from_any_seq(gpu_worker, loupe, digits):
    run = loupe.training_runs.submit(
        slice=digits["id"], spec="small_cnn", hyperparameters={"epochs": 1}
    )
    followed = list(loupe.training_runs.events(run, timeout=180))
    stored = list(loupe.training_runs.events(run, follow=False))
    rest = list(loupe.training_runs.events(run, after=3, timeout=30))
    assert followed == stored and rest == stored[3:]
    assert (followed[0]["type"], followed[-1]["type"]) == ("run.queued", "run.succeeded")


def test_a_running_run_is_cancelled_and_a_finished_one_refuses(gpu_worker, loupe, digits):
    run = loupe.training_runs.submit(
        slice=digits["id"], spec="small_cnn", hyperparameters={"epochs": 100}
    )
    for event in loupe.training_runs.events(run, timeout=180):
        if event["type"] == "batch.progress":
            break
    loupe.training_runs.cancel(run)
    ended = loupe.training_runs.wait(run, timeout=60)
    with pytest.raises(Conflict) as raised:
        loupe.training_runs.cancel(run)
    assert ended["status"] == "cancelled" and raised.value.code == "run_finished"


def test_a_hyperparameter_out_of_range_is_named(loupe, digits):
    with pytest.raises(ValidationError) as raised:
        loupe.training_runs.submit(
            slice=digits["id"], spec="small_cnn", hyperparameters={"learning_rate": 5}
        )
    assert raised.value.code == "invalid_hyperparameters"
    assert list(raised.value.fields) == ["hyperparameters.learning_rate"]
