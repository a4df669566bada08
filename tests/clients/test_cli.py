"""The `loupe` command line, run as a process of its own: login stores its settings for the
user alone and the environment overrides them; each command prints text or `--json`; and the
exit status says what failed."""

from __future__ import annotations

import json
import re
import shlex
import stat

import pytest

from tests.clients.conftest import ROWS, epochs_reported, jsonl_rows
from tests.search.conftest import wait_until_indexed
from tests.support.processes import free_port


def test_login_checks_the_key_and_stores_it_for_the_user_alone(cli):
    ran = cli("login", cli.url, "--api-key", cli.key, "--json", env={"LOUPE_API_KEY": None})
    assert ran.code == 0, ran.stderr
    assert ran.json()["me"]["via"] == "api_key_session"
    assert stat.S_IMODE(cli.config_file.stat().st_mode) == 0o600
    assert json.loads(cli.config_file.read_text()) == {"url": cli.url, "api_key": cli.key}
    signed_in = cli("jobs", "--json", env={"LOUPE_URL": None, "LOUPE_API_KEY": None})
    assert (signed_in.code, signed_in.json()) == (0, [])


def test_the_environment_overrides_the_stored_credentials(cli):
    cli.config_file.parent.mkdir(parents=True)
    cli.config_file.write_text(json.dumps({"url": cli.url, "api_key": "lk_revoked"}))
    assert cli("jobs", env={"LOUPE_URL": None}).code == 0
    assert cli("jobs", env={"LOUPE_URL": None, "LOUPE_API_KEY": None}).code == 3


def test_an_import_shows_its_progress_and_its_counts(celery_worker, cli, dataset, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(jsonl_rows(ROWS))
    ran = cli("import", str(path), "--dataset", str(dataset["id"]))
    assert ran.code == 0, ran.stderr
    assert re.search(rf"{ROWS} records .*succeeded", ran.stderr), ran.stderr
    assert f"succeeded: {ROWS} records ({ROWS} created" in ran.stdout


def test_search_lists_the_first_rows_and_the_total(cli, imported):
    options = f"--dataset {imported['id']} --limit 5 --backend postgres --json"
    ran = cli("search", "metadata.i < 50", *options.split())
    found = ran.json()
    assert (ran.code, found["total"], len(found["rows"])) == (0, 50, 5)
    text = cli("search", "metadata.i < 50", "--limit", "2", "--backend", "postgres").stdout
    assert text.startswith("50 rows match (postgres)") and "img-0001" in text


def test_slice_create_answers_the_slice_and_its_rows(tenant, cli, imported):
    wait_until_indexed(tenant)  # the count is Elasticsearch's
    options = f"--dataset {imported['id']} --json"
    ran = cli("slice", "create", "first ten", "--query", "metadata.i < 10", *options.split())
    assert ran.code == 0, ran.stderr
    made = ran.json()
    assert (made["name"], made["query"], made["rows"]) == ("first ten", "metadata.i < 10", 10)


def test_train_follow_prints_a_line_of_metrics_per_epoch_and_the_version(gpu_worker, cli, digits):
    options = f"--slice {digits['id']} --spec small_cnn --model cli-cnn --param epochs=2"
    ran = cli("train", *options.split(), "--param", "optimizer=sgd", "--follow", "--json")
    assert ran.code == 0, ran.stderr
    run = ran.json()
    assert (run["status"], run["hyperparameters"]["optimizer"]) == ("succeeded", "sgd")
    assert epochs_reported(ran.stderr) == ["1", "2"], ran.stderr
    listed = cli("jobs", "--kind", "training_run", "--json").json()
    assert [(job["id"], job["status"]) for job in listed] == [(run["id"], "succeeded")]


def test_train_without_follow_answers_the_queued_run(cli, digits):
    options = f"--slice {digits['id']} --spec logistic_regression --param image_size=16"
    ran = cli("train", *options.split())
    assert ran.code == 0 and re.match(r"training run \d+ queued", ran.stdout), ran.stdout


UNREACHABLE = f"http://127.0.0.1:{free_port()}"


@pytest.mark.parametrize(
    ("command", "env", "code", "error_code"),
    [
        pytest.param(f"import {__file__}", {}, 2, None, id="missing-option"),
        pytest.param("train --slice 1 --spec s --param epochs", {}, 2, None, id="bad-param"),
        pytest.param("jobs", {"LOUPE_API_KEY": "lk_x"}, 3, "invalid_api_key", id="refused-key"),
        pytest.param("jobs", {"LOUPE_URL": None}, 3, None, id="not-signed-in"),
        pytest.param("slice create s --dataset 999999", {}, 4, "not_found", id="unknown-dataset"),
        pytest.param("search \"width < 'big'\"", {}, 5, "type_mismatch", id="bad-query"),
        pytest.param("jobs", {"LOUPE_URL": UNREACHABLE}, 7, None, id="unreachable"),
    ],
)
def test_the_exit_code_says_what_failed(cli, command, env, code, error_code):
    ran = cli(*shlex.split(command), "--json", env=env)
    assert ran.code == code, ran.stderr
    if error_code:
        body = ran.error()
        assert (body["error"]["code"], body["exit_code"]) == (error_code, code)
        assert body["error"]["error_id"]


def test_an_import_that_fails_exits_6_with_its_reason(celery_worker, cli, dataset, tmp_path):
    broken = tmp_path / "images.zip"
    broken.write_bytes(b"not a zip at all")
    ran = cli("import", str(broken), "--dataset", str(dataset["id"]), "--quiet")
    assert ran.code == 6
    assert "failed" in ran.stdout and "not_a_zip" in ran.stdout
