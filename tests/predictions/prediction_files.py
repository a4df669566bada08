"""What the prediction-file tests share: the example files, a dataset they name, and ways to
import a file through the API and read back what was stored."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from apps.predictions.models import Prediction
from tests.datasets.conftest import upload
from tests.datasets.conftest import wait_for_job as wait_for_dataset_import
from tests.support.database import wait_for_replica_catch_up

FILES = Path(__file__).parent / "files"
CATEGORIES = [{"id": 1, "name": "car"}, {"id": 2, "name": "person"}]
# What both example files hold: (external_id, rank, class, score, box).
EXAMPLE = [
    ("street/0001.jpg", 0, "car", 0.92, {"x": 12.5, "y": 40, "w": 100, "h": 60}),
    ("street/0001.jpg", 1, "person", 0.47, {"x": 410, "y": 200, "w": 35, "h": 90}),
    ("street/0002.jpg", 0, "person", 0.81, {"x": 300, "y": 120, "w": 40, "h": 110}),
    ("street/0003.jpg", 0, "car", 0.66, {"x": 5, "y": 5, "w": 50, "h": 30}),
]
EXAMPLE_FILES = ("results.coco.json", "predictions.jsonl")


@pytest.fixture
def street(editor, celery_worker) -> dict:
    """A dataset of three images, imported from its COCO file (so each row keeps its id)."""
    return street_dataset(editor, FILES / "street.coco.json")


def street_dataset(editor, coco: Path) -> dict:
    """A project and a dataset named street, holding the rows of the COCO file `coco`."""
    project = editor.post(
        "/api/v1/projects/", {"name": "street"}, content_type="application/json"
    ).json()
    dataset = editor.post(
        "/api/v1/datasets/",
        {"project": project["id"], "name": "street"},
        content_type="application/json",
    ).json()
    job = upload(editor, dataset["id"], coco.read_bytes(), coco.name, "coco").json()
    wait_for_replica_catch_up()
    assert wait_for_dataset_import(editor, job["id"])["status"] == "succeeded"
    return dataset


def form(dataset_id: int, name: str = "results.coco.json", content=None, **fields) -> dict:
    """An import's form: a new detection model's, with the example categories for COCO;
    a field given as None is left out."""
    format = "coco" if name.endswith(".json") else "jsonl"
    body = {
        "file": SimpleUploadedFile(
            name, (FILES / name).read_bytes() if content is None else content
        ),
        "format": format,
        "dataset": dataset_id,
        "model": "street-det",
        "task": "detection",
        "categories": json.dumps(CATEGORIES) if format == "coco" else None,
        **fields,
    }
    return {key: value for key, value in body.items() if value is not None}


def wait_for_import(client, job_id: int, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/prediction-imports/{job_id}/").json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"prediction import {job_id} did not finish: {job}")


def imported(client, body: dict) -> dict:
    response = client.post("/api/v1/prediction-imports/", body)
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued"
    # As for a person who sends a file and then looks: the replica has it by then.
    wait_for_replica_catch_up()
    return wait_for_import(client, response.json()["id"])


def jsonl(lines: list[dict | str]) -> bytes:
    return "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines).encode() + b"\n"


def car(score: float = 0.5, **extra) -> dict:
    return {"class": "car", "score": score, "bbox": [1, 2, 3, 4], **extra}


def stored(tenant, version_id: int) -> list[tuple]:
    """The version's predictions as (external_id, rank, class, score, box), sorted."""
    with tenant_context(tenant):
        found = Prediction.objects.using("default").filter(model_version_id=version_id)
        return sorted(
            found.values_list("data_row__external_id", "rank", "class_name", "score", "geometry")
        )


def counters(job: dict) -> tuple:
    return (
        job["status"],
        job["records_done"],
        job["rows_matched"],
        job["predictions_written"],
        job["failed"],
    )
