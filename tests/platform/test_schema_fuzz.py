"""Schemathesis against the running server, as a client's author would fuzz it: every
operation of /api/schema/, with a fixed seed and a bounded number of examples each, positive
and negative, checking that no answer is a server error, every answer matches the schema,
requests that break the schema are refused, and no operation ignores authentication.

The tenant holds a project, a dataset with imported rows, a slice with a snapshot and a
webhook, and the fuzzer's path parameters name them, so operations on one thing are tested
on a real one as well as on made-up ids."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tenants.roles import Role
from tests.conftest import host_of, token_for
from tests.support import processes

BIN = Path(sys.executable).parent
CHECKS = "not_a_server_error,response_schema_conformance,negative_data_rejection,ignored_auth"
SEED = "20261203"
EXAMPLES_PER_OPERATION = "10"
ROWS = [
    {
        "external_id": f"frame-{i}",
        "media_uri": f"s3://bucket/{i}.jpg",
        "width": 640,
        "height": 480,
        "metadata": {"camera": "front" if i % 2 else "side"},
        "tags": ["train"],
        "annotations": [{"class": "car", "bbox": [1, 2, 30, 40]}],
    }
    for i in range(3)
]


@pytest.fixture
def fuzzed_server(django_db_setup, tmp_path):
    """A server of its own: the fuzzer sends thousands of refused credentials from one
    address, which the failure throttle answers 429 past AUTH_FAILURES_PER_MINUTE (as it
    should a guesser); here that limit is out of its way."""
    env = {"AUTH_FAILURES_PER_MINUTE": "1000000"}
    with processes.asgi_server(tmp_path / "server.log", env=env) as server:
        yield server


def _seeded(client: httpx.Client) -> dict[str, int]:
    """Something of each kind the path parameters name, made through the API."""

    def made(path: str, body: dict) -> dict:
        response = client.post(path, json=body)
        assert response.status_code == 201, response.text
        return response.json()

    project = made("/api/v1/projects/", {"name": "drive"})
    dataset = made("/api/v1/datasets/", {"project": project["id"], "name": "frames"})
    lines = "\n".join(json.dumps(row) for row in ROWS).encode()
    job = client.post(
        f"/api/v1/datasets/{dataset['id']}/imports/",
        data={"format": "jsonl"},
        files={"file": ("rows.jsonl", lines)},
    ).json()
    deadline = time.monotonic() + 60
    while client.get(f"/api/v1/imports/{job['id']}/").json()["status"] != "succeeded":
        assert time.monotonic() < deadline, "the seed import did not finish"
        time.sleep(0.2)
    row = client.get(f"/api/v1/datasets/{dataset['id']}/rows/").json()["results"][0]
    slice = made("/api/v1/slices/", {"name": "front", "dataset": dataset["id"], "query": ""})
    snapshot = made(f"/api/v1/slices/{slice['id']}/snapshots/", {})
    webhook = made(
        "/api/v1/webhooks/", {"url": "http://127.0.0.1:9/hook", "events": ["job.failed"]}
    )
    return {
        "project_id": project["id"],
        "dataset_id": dataset["id"],
        "job_id": job["id"],
        "row_id": row["id"],
        "annotation_id": row["annotations"][0]["id"],
        "slice_id": slice["id"],
        "number": snapshot["number"],
        "webhook_id": webhook["id"],
    }


def test_no_operation_breaks_the_schema(
    fuzzed_server, celery_worker, tenant, make_member, tmp_path
):
    owner = make_member(tenant, Role.OWNER)
    headers = {"Host": host_of(tenant), "Authorization": f"Bearer {token_for(tenant, owner)}"}
    with httpx.Client(base_url=fuzzed_server.url, headers=headers, timeout=30) as client:
        assert client.get("/api/v1/me/").status_code == 200
        ids = _seeded(client)
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        "[parameters]\n" + "".join(f'"path.{name}" = {value}\n' for name, value in ids.items())
    )
    fuzz = subprocess.run(
        [
            str(BIN / "schemathesis"),
            "--config-file",
            str(config),
            "run",
            f"{fuzzed_server.url}/api/schema/",
            "--url",
            fuzzed_server.url,
            *("--header", f"Host: {headers['Host']}"),
            *("--header", f"Authorization: {headers['Authorization']}"),
            *("--checks", CHECKS),
            *("--seed", SEED),
            *("--max-examples", EXAMPLES_PER_OPERATION),
            *("--workers", "1"),
        ],
        cwd=tmp_path,  # where it keeps its cache
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert fuzz.returncode == 0, fuzz.stdout[-20000:] + fuzz.stderr[-5000:]
    assert "Tested: 84" in fuzz.stdout  # every operation was selected and tested
