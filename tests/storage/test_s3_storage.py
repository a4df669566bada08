"""Imports, training and inference with STORAGE_URL naming a bucket: every file goes to the
S3 server under the tenant's prefix, through the API and a real worker, and an s3:// source
is read only from the tenant's own prefixes."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from apps.training.models import ModelVersion, TrainingRun
from tests.datasets.conftest import all_rows, jsonl, row, upload, wait_for_job
from tests.predictions.conftest import inferred
from tests.storage.conftest import LAKE, png, zip_of
from tests.support.database import wait_for_replica_catch_up
from tests.training.conftest import QUICK_LR, import_demo, make_slice, started, wait_for_run


def _import_from(client, dataset_id: int, source_uri: str):
    return client.post(
        f"/api/v1/datasets/{dataset_id}/imports/",
        {"format": "jsonl", "source_uri": source_uri},
        content_type="application/json",
    )


@pytest.mark.parametrize(
    ("content", "name", "fmt", "status"),
    [
        (jsonl([row(i) for i in range(3)]), "rows.jsonl", "jsonl", "succeeded"),
        (b"not a zip at all", "images.zip", "zip", "failed"),
    ],
    ids=["succeeded", "failed"],
)
def test_an_upload_is_stored_in_the_bucket_and_gone_once_its_import_ends(
    s3, tenant, editor, dataset, content, name, fmt, status
):
    response = upload(editor, dataset["id"], content, name, fmt)
    assert response.status_code == 202, response.content
    job = wait_for_job(editor, response.json()["id"])
    assert job["status"] == status, job
    assert s3.keys(f"{tenant.schema_name}/imports/") == []
    if status == "succeeded":
        assert len(all_rows(editor, dataset["id"])) == 3


def test_an_s3_source_under_the_tenants_prefix_imports_and_stays(s3, tenant, editor, dataset):
    key = f"{tenant.schema_name}/sources/rows.jsonl"
    source = s3.put(key, jsonl([row(i) for i in range(4)]))
    response = _import_from(editor, dataset["id"], source)
    assert response.status_code == 202, response.content
    job = wait_for_job(editor, response.json()["id"])
    assert (job["status"], job["created"]) == ("succeeded", 4)
    assert s3.keys(key) == [key]


def test_an_s3_source_under_an_operator_prefix_imports(s3, tenant, editor, dataset):
    source = s3.put(f"{tenant.schema_name}/rows.jsonl", jsonl([row(1)]), bucket=LAKE)
    response = _import_from(editor, dataset["id"], source)
    assert response.status_code == 202, response.content
    assert wait_for_job(editor, response.json()["id"])["status"] == "succeeded"


@pytest.mark.parametrize(
    ("where", "status", "code"),
    [
        ("their prefix", 403, "source_not_allowed"),
        ("their lake prefix", 403, "source_not_allowed"),
        ("back out of mine", 400, "invalid_source"),
        ("a bucket not configured", 403, "source_not_allowed"),
        ("mine, but missing", 400, "source_not_found"),
    ],
)
def test_a_tenant_cannot_import_another_tenants_objects(
    s3, tenant, other_tenant, editor, dataset, where, status, code
):
    mine, theirs = tenant.schema_name, other_tenant.schema_name
    body = jsonl([row(1)])
    sources = {
        "their prefix": s3.put(f"{theirs}/rows.jsonl", body),
        "their lake prefix": s3.put(f"{theirs}/rows.jsonl", body, bucket=LAKE),
        "back out of mine": s3.put(f"{theirs}/rows.jsonl", body).replace(
            f"/{theirs}/", f"/{mine}/../{theirs}/"
        ),
        "a bucket not configured": f"s3://elsewhere/{mine}/rows.jsonl",
        "mine, but missing": f"{s3.storage_url}/{mine}/none.jsonl",
    }
    response = _import_from(editor, dataset["id"], sources[where])
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert editor.get(f"/api/v1/datasets/{dataset['id']}/imports/").json()["results"] == []


def test_a_zip_imports_its_images_into_the_bucket_under_the_tenants_prefix(
    s3, tenant, editor, dataset
):
    archive = zip_of({"a.png": png(4, 3), "cats/b.png": png(6, 5)})
    response = upload(editor, dataset["id"], archive, "images.zip", "zip")
    job = wait_for_job(editor, response.json()["id"])
    assert (job["status"], job["created"]) == ("succeeded", 2)
    media = f"{tenant.schema_name}/datasets/{dataset['id']}/media/"
    rows = all_rows(editor, dataset["id"])
    assert sorted(r["media_uri"] for r in rows) == [f"{media}a.png", f"{media}cats/b.png"]
    assert s3.keys(media) == [f"{media}a.png", f"{media}cats/b.png"]


def test_a_model_trains_on_media_in_the_bucket_stores_its_files_there_and_predicts(
    s3, tenant, editor
):
    import_demo(tenant, "--digits", "200", "--shapes", "1")
    wait_for_replica_catch_up()
    datasets = editor.get("/api/v1/datasets/").json()["results"]
    digits = next(d for d in datasets if d["name"] == "digits")
    assert s3.keys(f"{tenant.schema_name}/datasets/{digits['id']}/media/")
    piece = make_slice(editor, digits["id"], "all digits")

    run = started(editor, piece["id"], "logistic_regression", **QUICK_LR)
    run = wait_for_run(editor, run["id"])
    assert run["status"] == "succeeded", run["error"]
    with tenant_context(tenant):
        stored = TrainingRun.objects.using("default").get(pk=run["id"])
        artifact = ModelVersion.objects.using("default").get(pk=run["model_version"]).artifact
    assert artifact.startswith(f"{tenant.schema_name}/training-runs/{run['id']}/models/")
    files = s3.keys(f"{tenant.schema_name}/training-runs/{run['id']}/")
    assert {artifact, stored.checkpoint, stored.best_checkpoint} <= set(files)

    inference = inferred(editor, run["model_version"], piece["id"])
    assert (inference["status"], inference["rows_done"]) == ("succeeded", 200), inference
    assert inference["predictions_written"] > 0
