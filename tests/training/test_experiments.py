"""Runs grouped by experiment train on one snapshot, and compare side by side:
`GET /api/v1/experiments/<name>/compare/`."""

from tenants.roles import Role
from tests.training.conftest import make_slice, started, submit, wait_for_run


def _compare(client, name: str):
    return client.get(f"/api/v1/experiments/{name}/compare/")


def _cancelled(client, run: dict) -> dict:
    client.post(f"/api/v1/training-runs/{run['id']}/cancel/")
    return wait_for_run(client, run["id"])


def test_two_runs_of_an_experiment_compare_side_by_side(gpu_worker, editor, digits):
    runs = [
        started(
            editor,
            digits["id"],
            experiment="lr/sweep",
            hyperparameters={"epochs": 2, "learning_rate": lr},
        )
        for lr in (0.001, 0.01)
    ]
    finished = [wait_for_run(editor, run["id"]) for run in runs]
    assert [run["status"] for run in finished] == ["succeeded", "succeeded"]

    response = _compare(editor, "lr/sweep")
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["experiment"], answer["slice"], answer["snapshot"]) == (
        "lr/sweep",
        digits["id"],
        1,
    )
    compared = {h["name"]: h for h in answer["hyperparameters"]}
    assert compared["learning_rate"] == {
        "name": "learning_rate",
        "differs": True,
        "values": [0.001, 0.01],
    }
    assert compared["epochs"] == {"name": "epochs", "differs": False, "values": [2, 2]}
    assert [h["name"] for h in answer["hyperparameters"] if h["differs"]] == ["learning_rate"]
    for side, run in zip(answer["runs"], finished, strict=True):
        metrics = editor.get(f"/api/v1/training-runs/{run['id']}/metrics/").json()
        assert (side["id"], side["status"], side["model_version"]) == (
            run["id"],
            "succeeded",
            run["model_version"],
        )
        assert (side["metrics"], side["hyperparameters"]) == (
            run["metrics"],
            run["hyperparameters"],
        )
        assert (side["epochs"], side["series"]) == (metrics["epochs"], metrics["series"])
        assert side["epochs"] == [1, 2] and "val_accuracy" in side["series"]


def test_a_run_joining_an_experiment_trains_on_its_snapshot_and_no_other(editor, digits):
    first = _cancelled(editor, started(editor, digits["id"], experiment="e"))
    second = _cancelled(editor, started(editor, digits["id"], experiment="e"))
    assert (first["snapshot"], second["snapshot"]) == (1, 1)
    alone = _cancelled(editor, started(editor, digits["id"]))
    assert alone["snapshot"] == 2  # a run outside the experiment freezes the slice anew

    other_slice = make_slice(editor, digits["dataset"], "fours", "label(class = '4')")
    for refused in (
        submit(editor, digits["id"], experiment="e", snapshot=2),
        submit(editor, other_slice["id"], experiment="e"),
    ):
        assert (refused.status_code, refused.json()["code"]) == (
            409,
            "experiment_snapshot_mismatch",
        )
        assert "snapshot 1 of slice" in refused.json()["detail"]
    runs = editor.get("/api/v1/training-runs/?experiment=e").json()["results"]
    assert [run["id"] for run in runs] == [second["id"], first["id"]]
    assert editor.get(f"/api/v1/slices/{other_slice['id']}/snapshots/").json()["results"] == []


def test_an_unknown_experiment_is_404_and_another_tenants_is_unknown(
    other_tenant, make_member, client_for, editor, digits
):
    _cancelled(editor, started(editor, digits["id"], experiment="mine"))
    unknown = _compare(editor, "nobody")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_experiment")
    outsider = client_for(other_tenant, make_member(other_tenant, Role.OWNER))
    outside = _compare(outsider, "mine")
    assert (outside.status_code, outside.json()["code"]) == (404, "unknown_experiment")
