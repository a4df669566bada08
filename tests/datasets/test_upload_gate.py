"""Uploads past the tenant's storage quota, through the real server: answered 413 before the
body is read (loupe.upload_gate), whether the upload announces its length or is sent in
chunks, and the tenant's usage told only to members the view would serve."""

from __future__ import annotations

import contextlib
import json
import re
import select
import socket
from urllib.parse import urlsplit

import httpx
import pytest
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.models import TenantQuota
from tenants.roles import Role
from tests.datasets.conftest import jsonl, row, wait_for_job
from tests.support.database import wait_for_replica_catch_up

QUOTA = 100_000
BOUNDARY = "loupe-test-boundary"
# The start of a form whose file would follow: all that is ever sent of a refused upload.
FORM_START = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="format"\r\n\r\njsonl\r\n'
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="rows.jsonl"\r\n'
    "Content-Type: application/octet-stream\r\n\r\n"
).encode()


@pytest.fixture
def quota(tenant) -> None:
    with schema_context(get_public_schema_name()):
        TenantQuota.objects.create(tenant=tenant, storage_bytes=QUOTA)


def _connect(server) -> socket.socket:
    parts = urlsplit(server.url)
    return socket.create_connection((parts.hostname, parts.port), timeout=30)


def _head(client, path: str, **headers: str) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {client.defaults['HTTP_HOST']}",
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
        *(f"{name.replace('_', '-')}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _response(sock: socket.socket) -> tuple[int, dict]:
    """The status and JSON body of the one response the connection carries."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += _recv(sock)
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *fields = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value for name, _, value in (f.partition(": ") for f in fields)}
    length = int(headers["content-length"])
    while len(body) < length:
        body += _recv(sock)
    return int(status_line.split()[1]), json.loads(body[:length])


def _recv(sock: socket.socket) -> bytes:
    data = sock.recv(65536)
    assert data, "the server closed the connection without an answer"
    return data


def _imports(editor, dataset) -> list:
    wait_for_replica_catch_up()
    return editor.get(f"/api/v1/datasets/{dataset['id']}/imports/").json()["results"]


def test_an_upload_announced_past_the_quota_is_refused_before_its_body_is_sent(
    asgi_server, tenant, editor, dataset, quota
):
    path = f"/api/v1/datasets/{dataset['id']}/imports/"
    announced = 50 * 1024**3  # never sent: the answer comes on the head alone
    head = _head(
        editor,
        path,
        Authorization=editor.defaults["HTTP_AUTHORIZATION"],
        Content_Length=str(announced),
    )
    with _connect(asgi_server) as sock:
        sock.sendall(head + FORM_START)
        status, body = _response(sock)

    assert status == 413
    assert body["code"] == "storage_quota_exceeded"
    assert body["storage_bytes"] == {"used": 0, "limit": QUOTA}
    assert f"the upload is {announced:,} bytes" in body["detail"]
    assert _imports(editor, dataset) == []


def test_an_upload_sent_in_chunks_is_cut_off_once_it_passes_what_the_tenant_has_left(
    asgi_server, tenant, editor, dataset, quota
):
    path = f"/api/v1/datasets/{dataset['id']}/imports/"
    head = _head(
        editor,
        path,
        Authorization=editor.defaults["HTTP_AUTHORIZATION"],
        Transfer_Encoding="chunked",
    )
    chunk = 16 * 1024
    sent = 0
    with _connect(asgi_server) as sock:
        sock.sendall(head + b"%x\r\n%s\r\n" % (len(FORM_START), FORM_START))
        # Up to 100 times the quota; the answer comes long before.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # answered, and closed
            while sent < 100 * QUOTA and not select.select([sock], [], [], 0)[0]:
                sock.sendall(b"%x\r\n%s\r\n" % (chunk, b"x" * chunk))
                sent += chunk
        status, body = _response(sock)

    assert sent < 100 * QUOTA
    assert (status, body["code"]) == (413, "storage_quota_exceeded")
    assert body["storage_bytes"] == {"used": 0, "limit": QUOTA}
    passed_at = int(re.search(r"passed that at ([\d,]+) bytes", body["detail"])[1].replace(",", ""))
    # As the server read it: past what was left, and far short of what the client had to send.
    assert QUOTA < passed_at < 100 * QUOTA
    assert _imports(editor, dataset) == []


@pytest.mark.parametrize(("who", "answer"), [("no token", 401), ("a viewer", 403)])
def test_the_tenants_usage_is_told_to_no_one_the_view_would_not_serve(
    asgi_server, tenant, editor, dataset, quota, make_member, client_for, who, answer
):
    path = f"/api/v1/datasets/{dataset['id']}/imports/"
    credentials = {}
    if who == "a viewer":
        viewer = client_for(tenant, make_member(tenant, Role.VIEWER))
        credentials["Authorization"] = viewer.defaults["HTTP_AUTHORIZATION"]
    form = FORM_START + b"x" * (2 * QUOTA) + f"\r\n--{BOUNDARY}--\r\n".encode()
    head = _head(editor, path, Content_Length=str(len(form)), **credentials)
    with _connect(asgi_server) as sock:
        sock.sendall(head + form)
        status, body = _response(sock)

    assert status == answer
    assert "storage_bytes" not in body and "storage" not in body["detail"]
    assert _imports(editor, dataset) == []


def test_an_upload_within_what_is_left_passes_the_gate_whole(
    asgi_server, celery_worker, editor, dataset, quota
):
    rows = jsonl([row(i) for i in range(20)])
    response = httpx.post(
        f"{asgi_server.url}/api/v1/datasets/{dataset['id']}/imports/",
        data={"format": "jsonl"},
        files={"file": ("rows.jsonl", rows)},
        headers=_credentials(editor),
        timeout=60,
    )
    assert response.status_code == 202, response.text
    job = wait_for_job(editor, response.json()["id"])
    assert (job["status"], job["created"]) == ("succeeded", 20)


def test_a_form_to_an_endpoint_that_stores_no_upload_is_not_held_to_the_quota(
    asgi_server, tenant, editor
):
    with schema_context(get_public_schema_name()):
        TenantQuota.objects.create(tenant=tenant, storage_bytes=0)
    response = httpx.post(
        f"{asgi_server.url}/api/v1/projects/",
        files={"name": (None, "from a form")},
        headers=_credentials(editor),
        timeout=60,
    )
    # The gate lets it by (it would answer 413); the view, which takes JSON only, refuses it.
    assert (response.status_code, response.json()["code"]) == (415, "unsupported_media_type")


def _credentials(client) -> dict:
    return {
        "Host": client.defaults["HTTP_HOST"],
        "Authorization": client.defaults["HTTP_AUTHORIZATION"],
    }
