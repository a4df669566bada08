"""Fixtures for datasets: an editor's client on a tenant with a project and a dataset, and a
way to run an import through the API and wait for the worker to finish it."""

from __future__ import annotations

import io
import json
import time

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from tenants.roles import Role
from tests.support.database import wait_for_replica_catch_up


@pytest.fixture
def editor(tenant, make_member, client_for):
    return client_for(tenant, make_member(tenant, Role.EDITOR))


@pytest.fixture
def dataset(editor) -> dict:
    project = editor.post(
        "/api/v1/projects/", {"name": "drive"}, content_type="application/json"
    ).json()
    response = editor.post(
        "/api/v1/datasets/",
        {"project": project["id"], "name": "frames"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def jsonl(rows: list[dict | str]) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows).encode() + b"\n"


def row(i: int, **extra) -> dict:
    return {
        "external_id": f"img-{i}",
        "media_uri": f"s3://bucket/{i}.jpg",
        "width": 640,
        "height": 480,
        "metadata": {"camera": "front", "i": i},
        "tags": ["train"],
        "annotations": [{"class": "car", "bbox": [1, 2, 30, 40]}],
        **extra,
    }


def upload(client, dataset_id: int, content: bytes, name: str, fmt: str):
    return client.post(
        f"/api/v1/datasets/{dataset_id}/imports/",
        {"format": fmt, "file": SimpleUploadedFile(name, content)},
    )


def wait_for_job(client, job_id: int, timeout: float = 60.0) -> dict:
    wait_for_replica_catch_up()  # the job was made on the primary a moment ago
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/imports/{job_id}/").json()
        if job["status"] in ("succeeded", "partially_failed", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"import {job_id} did not finish: {job}")


@pytest.fixture
def run_import(celery_worker, editor):
    """Upload a file through the API and wait for the real worker to finish the job."""

    def run(dataset_id: int, content: bytes, name: str = "rows.jsonl", fmt: str = "jsonl") -> dict:
        response = upload(editor, dataset_id, content, name, fmt)
        assert response.status_code == 202, response.content
        assert response.json()["status"] == "queued"
        return wait_for_job(editor, response.json()["id"])

    return run


def all_rows(client, dataset_id: int) -> list[dict]:
    rows, url = [], f"/api/v1/datasets/{dataset_id}/rows/?page_size=1000"
    while url:
        page = client.get(url).json()
        rows += page["results"]
        url = page["next"]
    return rows


def export_through_server(server, client, dataset_id: int, fmt: str) -> bytes:
    """The export as the running ASGI server streams it, with the client's credentials."""
    headers = {
        "Host": client.defaults["HTTP_HOST"],
        "Authorization": client.defaults["HTTP_AUTHORIZATION"],
    }
    url = f"{server.url}/api/v1/datasets/{dataset_id}/export?format={fmt}"
    with httpx.stream("GET", url, headers=headers, timeout=60) as response:
        assert response.status_code == 200, response.read()
        return b"".join(response.iter_bytes())


def import_here(tenant, dataset_id: int, path) -> None:
    """Runs an import in this process, as `manage.py import_dataset` does (with this
    process's IMPORT_BATCH_SIZE)."""
    call_command(
        "import_dataset", "--tenant", tenant.slug, "--dataset", str(dataset_id), str(path),
        stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip


def only_import(client, dataset_id: int) -> dict:
    """The dataset's one import, once the replica has it."""
    wait_for_replica_catch_up()
    (job,) = client.get(f"/api/v1/datasets/{dataset_id}/imports/").json()["results"]
    return job
