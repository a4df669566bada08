"""A tenant's quotas on imports: an upload past its storage quota is refused (413) before its
body is read, storing nothing; no import starts while it holds its rows (429), and one that
reaches them part way stops there keeping every batch before, as a ZIP whose images reach
the storage quota does; an import past its running imports waits queued, saying why, and
starts when one ends; admins and operators see the bytes and rows stored against the limits."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile

import httpx
import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError
from django.db import connections
from django.test import override_settings
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django_tenants.utils import get_public_schema_name, schema_context
from PIL import Image

from tenants.models import TenantQuota
from tenants.roles import Role
from tests.datasets.conftest import (
    all_rows,
    import_here,
    jsonl,
    only_import,
    row,
    upload,
    wait_for_job,
)
from tests.predictions.prediction_files import CATEGORIES
from tests.support.admin_forms import operators_admin
from tests.support.database import wait_for_replica_catch_up


def _quota(tenant, **limits) -> None:
    with schema_context(get_public_schema_name()):
        TenantQuota.objects.update_or_create(tenant=tenant, defaults=limits)


@pytest.fixture
def admin(tenant, make_member, client_for):
    return client_for(tenant, make_member(tenant, Role.ADMIN))


def _usage(admin) -> dict:
    wait_for_replica_catch_up()
    response = admin.get("/api/v1/tenant/usage/")
    assert response.status_code == 200, response.content
    return response.json()


class CountedBody:
    """A request body as a server hands it to Django, counting the bytes read of it."""

    def __init__(self, content: bytes):
        self._content, self.read_bytes = io.BytesIO(content), 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._content.read(size)
        self.read_bytes += len(chunk)
        return chunk

    def readline(self, size: int = -1) -> bytes:
        line = self._content.readline(size)
        self.read_bytes += len(line)
        return line


def _post_form(client, path: str, fields: dict) -> tuple[object, CountedBody, int]:
    """POST a multipart form from a body that counts what is read of it; the response, the
    body and its length (the request's Content-Length)."""
    content = encode_multipart(BOUNDARY, fields)
    body = CountedBody(content)
    response = client.generic(
        "POST",
        path,
        CONTENT_TYPE=MULTIPART_CONTENT,
        CONTENT_LENGTH=str(len(content)),
        **{"wsgi.input": body},
    )
    return response, body, len(content)


_CSV = b"external_id,media_uri\n" + b"".join(b"r%d,s3://b/%d.jpg\n" % (i, i) for i in range(50))
_COCO = {"images": [], "annotations": [], "categories": []}
# What each format's upload holds: refused unread, it need not be more than its size.
FILES = {
    "jsonl": ("rows.jsonl", jsonl([row(i) for i in range(50)])),
    "csv": ("rows.csv", _CSV),
    "coco": ("coco.json", json.dumps(_COCO).encode()),
    "zip": ("images.zip", b"PK" + os.urandom(4000)),
}


@pytest.mark.parametrize("fmt", sorted(FILES))
def test_an_upload_past_the_storage_quota_is_refused_unread_and_nothing_is_stored(
    tenant, editor, admin, dataset, fmt
):
    _quota(tenant, storage_bytes=100)
    name, content = FILES[fmt]
    path = f"/api/v1/datasets/{dataset['id']}/imports/"
    form = {"format": fmt, "file": SimpleUploadedFile(name, content)}
    response, body, length = _post_form(editor, path, form)

    assert response.status_code == 413, response.content
    refusal = response.json()
    assert refusal["code"] == "storage_quota_exceeded"
    assert refusal["storage_bytes"] == {"used": 0, "limit": 100}
    assert f"0 of its 100 bytes (100 left), and the upload is {length:,}" in refusal["detail"]
    assert "ask an operator to raise its storage quota" in refusal["detail"]
    assert body.read_bytes == 0
    wait_for_replica_catch_up()
    assert editor.get(path).json()["results"] == []
    assert _usage(admin)["storage_bytes"]["used"] == 0


def test_through_the_server_an_upload_past_the_storage_quota_answers_413(
    tenant, editor, admin, dataset, asgi_server
):
    _quota(tenant, storage_bytes=100)
    headers = {
        "Host": editor.defaults["HTTP_HOST"],
        "Authorization": editor.defaults["HTTP_AUTHORIZATION"],
    }
    response = httpx.post(
        f"{asgi_server.url}/api/v1/datasets/{dataset['id']}/imports/",
        data={"format": "jsonl"},
        files={"file": ("rows.jsonl", FILES["jsonl"][1])},
        headers=headers,
        timeout=60,
    )
    assert (response.status_code, response.json()["code"]) == (413, "storage_quota_exceeded")
    assert _usage(admin)["storage_bytes"]["used"] == 0


def test_an_upload_that_takes_exactly_what_is_left_is_accepted(tenant, editor, dataset, run_import):
    name, content = FILES["jsonl"]
    form = {"format": "jsonl", "file": SimpleUploadedFile(name, content)}
    _quota(tenant, storage_bytes=len(encode_multipart(BOUNDARY, form)))
    path = f"/api/v1/datasets/{dataset['id']}/imports/"
    form["file"].seek(0)
    response, body, length = _post_form(editor, path, form)

    assert response.status_code == 202, response.content
    assert body.read_bytes == length
    assert wait_for_job(editor, response.json()["id"])["status"] == "succeeded"


def test_a_prediction_upload_past_the_storage_quota_is_refused_unread(
    tenant, editor, admin, dataset
):
    _quota(tenant, storage_bytes=10)
    form = {
        "file": SimpleUploadedFile("results.coco.json", b"[]"),
        "format": "coco",
        "dataset": dataset["id"],
        "model": "street-det",
        "task": "detection",
        "categories": json.dumps(CATEGORIES),
    }
    response, body, _ = _post_form(editor, "/api/v1/prediction-imports/", form)

    assert (response.status_code, response.json()["code"]) == (413, "storage_quota_exceeded")
    assert body.read_bytes == 0
    assert _usage(admin)["storage_bytes"]["used"] == 0
    assert editor.get("/api/v1/models/").json()["results"] == []


def _noise_png() -> bytes:
    """A small PNG that does not compress: each one stores about as many bytes as the next."""
    buffer = io.BytesIO()
    Image.frombytes("L", (40, 40), os.urandom(1600)).save(buffer, format="PNG")
    return buffer.getvalue()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_usage_shows_the_bytes_and_rows_stored_against_their_limits(
    tenant, editor, admin, dataset, run_import
):
    images = {f"img-{i}.png": _noise_png() for i in range(3)}
    _quota(tenant, storage_bytes=10**9, rows=50)
    assert run_import(dataset["id"], _zip(images), "images.zip", "zip")["status"] == "succeeded"

    usage = _usage(admin)
    # The images are stored; the upload is gone once its import has ended.
    assert usage["storage_bytes"] == {"used": sum(map(len, images.values())), "limit": 10**9}
    assert usage["rows"] == {"used": 3, "limit": 50}
    page = operators_admin(tenant).get(f"/admin/tenants/tenant/{tenant.pk}/change/")
    shown = page.content.decode()
    assert f"storage {sum(map(len, images.values())):,} of {10**9:,} bytes; rows 3 of 50" in shown


@override_settings(IMPORT_BATCH_SIZE=2)
def test_a_zip_import_whose_images_reach_the_storage_quota_stops_there_keeping_each_batch_before(
    tenant, editor, admin, dataset, tmp_path
):
    images = {f"img-{i}.png": _noise_png() for i in range(6)}
    sizes = list(map(len, images.values()))
    # Room for three images and half a fourth: the second batch (images 3 and 4) is refused.
    _quota(tenant, storage_bytes=sum(sizes[:3]) + sizes[3] // 2)
    path = tmp_path / "images.zip"
    path.write_bytes(_zip(images))
    with pytest.raises(CommandError, match=r"^storage_quota_exceeded: the tenant's storage"):
        import_here(tenant, dataset["id"], path)

    job = only_import(editor, dataset["id"])
    assert (job["status"], job["created"]) == ("partially_failed", 2)
    kept = sorted(r["external_id"] for r in all_rows(editor, dataset["id"]))
    assert kept == ["img-0", "img-1"]
    # The third image, stored before the fourth was refused, is named by no row: deleted.
    assert _usage(admin)["storage_bytes"]["used"] == sizes[0] + sizes[1]


def test_no_import_starts_while_the_tenant_holds_its_rows(tenant, editor, dataset, run_import):
    _quota(tenant, rows=3)
    assert run_import(dataset["id"], jsonl([row(i) for i in range(3)]))["status"] == "succeeded"

    refused = upload(editor, dataset["id"], jsonl([row(9)]), "more.jsonl", "jsonl")
    assert refused.status_code == 429, refused.content
    assert refused.json()["code"] == "row_quota_exceeded"
    assert refused.json()["rows"] == {"used": 3, "limit": 3}
    assert "ask an operator to raise its row quota" in refused.json()["detail"]
    wait_for_replica_catch_up()
    assert len(editor.get(f"/api/v1/datasets/{dataset['id']}/imports/").json()["results"]) == 1


@override_settings(IMPORT_BATCH_SIZE=10)
def test_an_import_reaching_the_row_quota_stops_there_keeping_each_batch_before(
    tenant, editor, dataset, tmp_path
):
    _quota(tenant, rows=25)
    path = tmp_path / "rows.jsonl"
    path.write_bytes(jsonl([row(i) for i in range(40)]))
    with pytest.raises(CommandError, match=r"^row_quota_exceeded: the tenant's row quota"):
        import_here(tenant, dataset["id"], path)

    job = only_import(editor, dataset["id"])
    assert (job["status"], job["created"]) == ("partially_failed", 20)
    assert "stopped after 20 records" in job["detail"]
    assert len(all_rows(editor, dataset["id"])) == 20


@override_settings(IMPORT_BATCH_SIZE=10)
def test_an_import_reaching_the_row_quota_with_nothing_written_fails(
    tenant, editor, dataset, tmp_path
):
    _quota(tenant, rows=5)
    path = tmp_path / "rows.jsonl"
    path.write_bytes(jsonl([row(i) for i in range(40)]))
    with pytest.raises(CommandError, match=r"^row_quota_exceeded:"):
        import_here(tenant, dataset["id"], path)

    assert (only_import(editor, dataset["id"])["status"], all_rows(editor, dataset["id"])) == (
        "failed",
        [],
    )


def _rows_written_held(tenant) -> psycopg.Connection:
    """Another session, in a transaction, holding a lock that lets the tenant's rows be
    read and not written: an import that reaches its first write waits there, running."""
    settings = connections["default"].settings_dict
    session = psycopg.connect(
        host=settings["HOST"], port=settings["PORT"], user=settings["USER"],
        dbname=settings["NAME"],
    )  # fmt: skip
    session.execute(f'SET search_path TO "{tenant.schema_name}"')
    session.execute("LOCK TABLE datasets_datarow IN SHARE MODE")
    return session


def _job_when(client, job_id: int, check, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/imports/{job_id}/").json()
        if check(job):
            return job
        time.sleep(0.2)
    raise AssertionError(f"import {job_id} never got there: {job}")


def test_an_import_past_the_tenants_running_imports_waits_queued_then_starts_when_one_ends(
    tenant, editor, dataset, celery_worker
):
    _quota(tenant, concurrent_imports=1)
    with _rows_written_held(tenant) as session:
        first = upload(editor, dataset["id"], jsonl([row(1)]), "a.jsonl", "jsonl").json()
        _job_when(editor, first["id"], lambda job: job["status"] == "running")
        second = upload(editor, dataset["id"], jsonl([row(2)]), "b.jsonl", "jsonl").json()

        # The session worker's other process takes it, and leaves it queued, saying why.
        waiting = _job_when(editor, second["id"], lambda job: job["waiting_for"])
        assert waiting["status"] == "queued"
        assert waiting["waiting_for"].startswith(
            "tenant_limit: 1 of this tenant's imports are running, its limit"
        )
        session.rollback()

    first = wait_for_job(editor, first["id"])
    second = wait_for_job(editor, second["id"])
    assert (first["status"], second["status"], second["waiting_for"]) == (
        "succeeded",
        "succeeded",
        "",
    )
    assert second["started_at"] >= first["finished_at"]


def _sessions_waiting_on_locks(session: psycopg.Connection) -> int:
    # Inside a transaction, the activity read first is kept unless cleared.
    session.execute("SELECT pg_stat_clear_snapshot()")
    return session.execute(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    ).fetchone()[0]


def test_two_imports_writing_at_once_never_pass_the_row_quota_together(
    tenant, editor, dataset, celery_worker
):
    _quota(tenant, rows=40)
    with _rows_written_held(tenant) as session:
        jobs = [
            upload(editor, dataset["id"], jsonl([row(i) for i in ids]), "r.jsonl", "jsonl").json()
            for ids in (range(30), range(100, 130))
        ]
        # Both at their first batch: one waits to write, the other for its turn to count.
        deadline = time.monotonic() + 60
        while _sessions_waiting_on_locks(session) < 2:
            assert time.monotonic() < deadline, "the imports never reached their first batch"
            time.sleep(0.1)
        session.rollback()

    ended = sorted((wait_for_job(editor, job["id"]) for job in jobs), key=lambda j: j["status"])
    assert [job["status"] for job in ended] == ["failed", "succeeded"]
    assert ended[0]["detail"].startswith("row_quota_exceeded: ")
    assert len(all_rows(editor, dataset["id"])) == 30
