"""An import's events, stored and numbered as every job's: a subscriber from before the start
gets each committed batch in order, a late one the history then what follows, over
WebSocket and over HTTP alike; and the operator's command runs the same importer."""

import contextlib
import io
import json
import socket

import pytest
from django.core.management import call_command
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tenants.roles import Role
from tests.conftest import host_of, token_for
from tests.datasets.conftest import all_rows, jsonl, row, upload, wait_for_job
from tests.support import processes
from tests.support.database import wait_for_replica_catch_up

ENDS = ("import.succeeded", "import.partially_failed", "import.failed")


def _follow(asgi_server, tenant, token: str, job_id: int, after: int = 0):
    return connect(
        f"ws://127.0.0.1:{asgi_server.port}/ws/imports/{job_id}/?after={after}",
        additional_headers={"Host": host_of(tenant)},
        subprotocols=["bearer", token],
        open_timeout=10,
    )


def test_a_subscriber_from_before_the_start_gets_every_committed_batch_in_order(
    asgi_server, celery_worker, tenant, editor, dataset, make_member
):
    rows = 12_000  # the worker commits 5,000 at a time (IMPORT_BATCH_SIZE)
    token = token_for(tenant, make_member(tenant, Role.VIEWER))
    session_worker = f"celery@{socket.gethostname()}"
    processes.consume("default", worker=session_worker, on=False)
    with contextlib.ExitStack() as stack:
        try:
            content = jsonl([row(i) for i in range(rows)])
            job_id = upload(editor, dataset["id"], content, "r.jsonl", "jsonl").json()["id"]
            wait_for_replica_catch_up()
            ws = stack.enter_context(_follow(asgi_server, tenant, token, job_id))
            first = json.loads(ws.recv(timeout=10))
        finally:
            processes.consume("default", worker=session_worker, on=True)
        events = [first]
        while events[-1]["type"] not in ENDS:
            events.append(json.loads(ws.recv(timeout=60)))
    assert [e["seq"] for e in events] == list(range(1, 7))
    assert [(e["type"], e["data"].get("total")) for e in events] == [
        ("import.queued", 0),
        ("import.started", None),
        ("import.progress", 5_000),
        ("import.progress", 10_000),
        ("import.progress", 12_000),
        ("import.succeeded", 12_000),
    ]
    assert {e["kind"] for e in events} == {"import"} and {e["job"] for e in events} == {job_id}
    assert (events[-1]["data"]["status"], events[-1]["data"]["created"]) == ("succeeded", rows)


def test_a_socket_for_an_unknown_import_closes_4404(asgi_server, tenant, make_member):
    token = token_for(tenant, make_member(tenant, Role.VIEWER))
    wait_for_replica_catch_up()
    with _follow(asgi_server, tenant, token, 999_999) as ws, pytest.raises(ConnectionClosed):
        ws.recv(timeout=10)
    assert ws.close_code == 4404


def test_another_tenants_member_cannot_follow_an_import(
    asgi_server, celery_worker, tenant, other_tenant, editor, dataset, make_member
):
    job = upload(editor, dataset["id"], jsonl([row(0)]), "r.jsonl", "jsonl").json()
    outsider = token_for(other_tenant, make_member(other_tenant, Role.OWNER))
    wait_for_replica_catch_up()
    with pytest.raises(InvalidStatus) as refused:
        _follow(asgi_server, tenant, outsider, job["id"])
    assert refused.value.response.status_code == 403


def test_a_late_subscriber_gets_the_history_after_the_seq_it_names_as_http_does(
    asgi_server, celery_worker, tenant, editor, dataset, make_member
):
    response = upload(editor, dataset["id"], jsonl([row(i) for i in range(20)]), "r.jsonl", "jsonl")
    job = wait_for_job(editor, response.json()["id"])
    token = token_for(tenant, make_member(tenant, Role.VIEWER))
    with _follow(asgi_server, tenant, token, job["id"]) as ws:
        history = [json.loads(ws.recv(timeout=10)) for _ in range(4)]
    assert [e["type"] for e in history] == [
        "import.queued", "import.started", "import.progress", "import.succeeded",
    ]  # fmt: skip
    assert (history[-1]["data"]["status"], history[-1]["data"]["created"]) == ("succeeded", 20)
    with _follow(asgi_server, tenant, token, job["id"], after=3) as ws:
        assert json.loads(ws.recv(timeout=10)) == history[-1]
    page = editor.get(f"/api/v1/imports/{job['id']}/events/?after=1&limit=2").json()
    assert page["results"] == history[1:3]
    assert page["next"].endswith(f"/api/v1/imports/{job['id']}/events/?after=3&limit=2")


def test_import_dataset_command_imports_a_file(tenant, editor, dataset, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(jsonl([row(i) for i in range(12)] + ["oops"]))
    out = io.StringIO()
    call_command(
        "import_dataset",
        "--tenant",
        tenant.slug,
        "--dataset",
        str(dataset["id"]),
        str(path),
        stdout=out,
    )
    assert "partially_failed; created 12" in out.getvalue()
    assert "at 13:" in out.getvalue()
    assert len(all_rows(editor, dataset["id"])) == 12
