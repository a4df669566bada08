"""A real WebSocket client against the running ASGI server: tenant-scoped event feeds."""

import json

import pytest
from django_tenants.utils import tenant_context
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from apps.projects.services import create_project
from tenants.roles import Role
from tests.conftest import host_of
from tests.support.database import wait_for_replica_catch_up


def _open(asgi_server, host: str, cookie: str | None = None):
    headers = {"Host": host, "Origin": f"http://{host}"}
    if cookie:
        headers["Cookie"] = f"sessionid={cookie}"
    return connect(
        f"ws://127.0.0.1:{asgi_server.port}/ws/events/", additional_headers=headers, open_timeout=10
    )


def _session_cookie(client_for, tenant, user) -> str:
    return client_for(tenant, user).cookies["sessionid"].value


def test_member_receives_its_tenants_events_and_not_another_tenants(
    asgi_server, tenant, other_tenant, make_member, client_for
):
    mine = _session_cookie(client_for, tenant, make_member(tenant, Role.VIEWER))
    theirs = _session_cookie(client_for, other_tenant, make_member(other_tenant, Role.VIEWER))
    wait_for_replica_catch_up()
    with (
        _open(asgi_server, host_of(tenant), mine) as ws,
        _open(asgi_server, host_of(other_tenant), theirs) as other_ws,
    ):
        assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
        assert json.loads(other_ws.recv(timeout=10))["type"] == "subscribed"
        with tenant_context(tenant):
            project = create_project(name="live", actor=None)
        event = json.loads(ws.recv(timeout=10))
        assert event == {"type": "project.created", "id": project.pk, "name": "live"}
        with pytest.raises(TimeoutError):
            other_ws.recv(timeout=1)


def test_socket_without_a_session_is_closed_unauthenticated(asgi_server, tenant):
    with _open(asgi_server, host_of(tenant)) as ws, pytest.raises(ConnectionClosed):
        ws.recv(timeout=10)
    assert ws.close_code == 4401


def test_socket_of_a_non_member_is_closed_forbidden(
    asgi_server, tenant, other_tenant, make_member, client_for
):
    outsider = _session_cookie(client_for, other_tenant, make_member(other_tenant, Role.OWNER))
    wait_for_replica_catch_up()
    with _open(asgi_server, host_of(tenant), outsider) as ws, pytest.raises(ConnectionClosed):
        ws.recv(timeout=10)
    assert ws.close_code == 4403


def test_socket_on_an_unknown_host_is_refused(asgi_server, live_db):
    with pytest.raises(InvalidStatus):
        _open(asgi_server, "nobody.localhost")
