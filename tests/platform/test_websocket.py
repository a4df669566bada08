"""A real WebSocket client against the running ASGI server: tenant-scoped event feeds."""

import json
import time

import pytest
from django_tenants.utils import tenant_context
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from apps.projects.services import create_project
from tenants.roles import Role
from tests.conftest import host_of, token_for
from tests.support import processes
from tests.support.database import wait_for_replica_catch_up


def _open(asgi_server, host: str, token: str | None = None):
    return connect(
        f"ws://127.0.0.1:{asgi_server.port}/ws/events/",
        additional_headers={"Host": host},
        subprotocols=["bearer", token] if token else None,
        open_timeout=10,
    )


def _member_token(tenant, make_member, role=Role.VIEWER) -> str:
    return _member_token_of(tenant, make_member(tenant, role))


def _member_token_of(tenant, user) -> str:
    token = token_for(tenant, user)
    wait_for_replica_catch_up()
    return token


def test_member_receives_its_tenants_events_and_not_another_tenants(
    asgi_server, tenant, other_tenant, make_member
):
    mine = _member_token(tenant, make_member)
    theirs = _member_token(other_tenant, make_member)
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


def test_a_socket_idle_for_a_while_still_receives_the_next_event(asgi_server, tenant, make_member):
    with _open(asgi_server, host_of(tenant), _member_token(tenant, make_member)) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
        time.sleep(12)  # the server waits on Redis in 5 s blocking pops meanwhile
        with tenant_context(tenant):
            project = create_project(name="after a quiet while", actor=None)
        assert json.loads(ws.recv(timeout=10))["id"] == project.pk


@pytest.mark.serial  # Redis is stopped here.
def test_a_socket_opened_after_redis_restarted_is_served(asgi_server, tenant, make_member):
    token = _member_token(tenant, make_member)
    with _open(asgi_server, host_of(tenant), token) as ws:  # the server's pool holds connections
        assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
    try:
        processes.services("redis-stop")  # other test runs share Redis: keep it short
    finally:
        processes.services("redis-start")
    with _open(asgi_server, host_of(tenant), token) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
        with tenant_context(tenant):
            project = create_project(name="after the restart", actor=None)
        assert json.loads(ws.recv(timeout=10))["id"] == project.pk


def test_socket_without_a_token_is_closed_unauthenticated(asgi_server, tenant):
    with _open(asgi_server, host_of(tenant)) as ws, pytest.raises(ConnectionClosed):
        ws.recv(timeout=10)
    assert ws.close_code == 4401


def test_token_for_another_tenant_is_refused_at_the_handshake(
    asgi_server, tenant, other_tenant, make_member
):
    outsider = _member_token(other_tenant, make_member, Role.OWNER)
    with pytest.raises(InvalidStatus):
        _open(asgi_server, host_of(tenant), outsider)


def test_token_in_the_query_string_is_accepted(asgi_server, tenant, make_member):
    token = _member_token(tenant, make_member)
    url = f"ws://127.0.0.1:{asgi_server.port}/ws/events/?token={token}"
    with connect(url, additional_headers={"Host": host_of(tenant)}, open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"


def test_forged_token_is_refused_at_the_handshake(asgi_server, tenant, make_member):
    token = _member_token(tenant, make_member)
    with pytest.raises(InvalidStatus):
        _open(asgi_server, host_of(tenant), token[:-4] + "AAAA")


def test_socket_on_an_unknown_host_is_refused(asgi_server, live_db):
    with pytest.raises(InvalidStatus):
        _open(asgi_server, "nobody.localhost")


def test_a_socket_closes_when_its_token_expires(asgi_server, tenant, make_member):
    user = make_member(tenant, Role.VIEWER)
    token = token_for(tenant, user, ttl=2)
    wait_for_replica_catch_up()
    with _open(asgi_server, host_of(tenant), token) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
    assert ws.close_code == 4401


def test_a_socket_closes_when_its_api_key_is_revoked(asgi_server, tenant, make_member):
    from tenants.identity.api_keys import create_api_key, revoke_api_key
    from tenants.identity.sessions import create_session

    owner = make_member(tenant, Role.OWNER)
    api_key, _ = create_api_key(tenant=tenant, name="live", role=Role.VIEWER, actor=owner)
    session_token, _ = create_session(api_key=api_key)
    with _open(asgi_server, host_of(tenant), session_token) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
        revoke_api_key(api_key=api_key, actor=owner)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
    assert ws.close_code == 4401


@pytest.mark.parametrize("change", ["removed", "given another role"])
def test_a_members_socket_closes_when_they_are_removed_or_given_another_role(
    asgi_server, tenant, make_member, client_for, change
):
    member = make_member(tenant, Role.EDITOR)
    owner = client_for(tenant, make_member(tenant, Role.OWNER))
    membership = tenant.memberships.get(user=member)
    path = f"/api/v1/members/{membership.pk}/"
    with _open(asgi_server, host_of(tenant), _member_token_of(tenant, member)) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
        if change == "removed":
            assert owner.delete(path).status_code == 204
        else:
            answer = owner.patch(path, {"role": "viewer"}, content_type="application/json")
            assert answer.status_code == 200, answer.content
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
    assert ws.close_code == 4401


def test_another_members_removal_leaves_a_socket_open(asgi_server, tenant, make_member, client_for):
    member, other = make_member(tenant, Role.EDITOR), make_member(tenant, Role.EDITOR)
    owner = client_for(tenant, make_member(tenant, Role.OWNER))
    with _open(asgi_server, host_of(tenant), _member_token_of(tenant, member)) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
        removed = owner.delete(f"/api/v1/members/{tenant.memberships.get(user=other).pk}/")
        assert removed.status_code == 204
        with pytest.raises(TimeoutError):
            ws.recv(timeout=2)
