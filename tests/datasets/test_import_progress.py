"""Import progress reaches WebSocket subscribers, late ones included; and the operator's
command runs the same importer."""

import io
import json

from django.core.management import call_command
from websockets.sync.client import connect

from tenants.roles import Role
from tests.conftest import host_of, token_for
from tests.datasets.conftest import all_rows, jsonl, row, upload, wait_for_job


def test_a_late_subscriber_gets_the_jobs_state(
    asgi_server, celery_worker, tenant, editor, dataset, make_member
):
    response = upload(editor, dataset["id"], jsonl([row(i) for i in range(20)]), "r.jsonl", "jsonl")
    job = wait_for_job(editor, response.json()["id"])
    token = token_for(tenant, make_member(tenant, Role.VIEWER))
    with connect(
        f"ws://127.0.0.1:{asgi_server.port}/ws/imports/{job['id']}/",
        additional_headers={"Host": host_of(tenant)},
        subprotocols=["bearer", token],
        open_timeout=10,
    ) as ws:
        state = json.loads(ws.recv(timeout=10))
    assert (state["type"], state["status"], state["created"]) == (
        "import.progress",
        "succeeded",
        20,
    )


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
