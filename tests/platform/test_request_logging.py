"""Every request is logged as one JSON line carrying request id, tenant and user."""

import json
import re

import httpx

from tenants.roles import Role
from tests.conftest import host_of, token_for
from tests.support.database import wait_for_replica_catch_up


def _log_lines(asgi_server) -> list[dict]:
    return [
        json.loads(line) for line in asgi_server.log_text().splitlines() if line.startswith("{")
    ]


def test_request_id_is_honoured_echoed_and_logged_with_tenant_and_user(
    asgi_server, tenant, make_member
):
    user = make_member(tenant, Role.VIEWER)
    token = token_for(tenant, user)
    wait_for_replica_catch_up()
    response = httpx.get(
        f"{asgi_server.url}/api/v1/projects/",
        headers={
            "Host": host_of(tenant),
            "X-Request-ID": "trace-42.a",
            "Authorization": f"Bearer {token}",
        },
    )
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "trace-42.a"
    line = next(
        entry for entry in _log_lines(asgi_server) if entry.get("request_id") == "trace-42.a"
    )
    assert line["tenant"] == tenant.schema_name
    assert line["user"] == str(user.pk)
    assert (line["status"], line["path"]) == (200, "/api/v1/projects/")


def test_request_id_is_generated_when_absent_or_unsafe(asgi_server):
    for headers in ({}, {"X-Request-ID": "not a safe id; <script>"}):
        response = httpx.get(f"{asgi_server.url}/healthz", headers=headers)
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_error_bodies_carry_the_request_id(asgi_server, live_db):
    response = httpx.get(
        f"{asgi_server.url}/admin/",
        headers={"Host": "nobody.localhost", "X-Request-ID": "find-me"},
    )
    assert response.status_code == 404
    assert response.json() == {
        "code": "tenant_not_found",
        "detail": "No tenant is served at this host name.",
        "error_id": "find-me",
    }
