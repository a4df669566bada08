"""Signing in: an API key traded for a session once, renewed before it expires (its calls
and its followed jobs never see the expiry), a bearer token used as it is, and refusals in
the API's error body."""

from __future__ import annotations

import time

import pytest
from loupe_client import AuthenticationError, Client, PermissionDenied

from tenants.roles import Role
from tests.clients.conftest import api_key_for, requests_to, url_of
from tests.conftest import token_for
from tests.support import processes

SHORT_SESSION_SECONDS = 4


@pytest.fixture(scope="module")
def short_sessions_server(django_db_setup, tmp_path_factory):
    """An API server whose sessions live SHORT_SESSION_SECONDS: the SDK renews them after
    three quarters of that."""
    log_path = tmp_path_factory.mktemp("short-sessions") / "server.log"
    env = {"API_SESSION_TTL_SECONDS": str(SHORT_SESSION_SECONDS)}
    with processes.asgi_server(log_path, env=env) as server:
        yield server


def test_an_api_key_is_traded_once_for_a_session_that_signs_every_call(loupe):
    trades = requests_to(loupe, "/session/")
    me = loupe.me()
    list(loupe.projects.list())
    assert (me["via"], me["role"], len(trades)) == ("api_key_session", "editor", 1)


def test_a_session_is_renewed_before_it_expires_so_no_call_is_refused(
    short_sessions_server, tenant, api_key
):
    with Client(url_of(short_sessions_server, tenant), api_key=api_key) as client:
        trades = requests_to(client, "/session/")
        refused = []
        client.api.http.event_hooks["response"].append(
            lambda response: refused.append(response) if response.status_code == 401 else None
        )
        client.me()
        time.sleep(SHORT_SESSION_SECONDS * 0.8)  # past the renewal point, before the expiry
        client.me()
        time.sleep(SHORT_SESSION_SECONDS * 0.5)  # past the first session's expiry
        client.me()
    assert (len(trades), refused) == (2, [])


def test_a_job_followed_longer_than_its_session_is_seen_whole(
    short_sessions_server, tenant, gpu_worker, digits
):
    """The platform closes the socket when its session ends; the follower trades the key
    again and goes on after the last event it saw. Once it has, the run is cancelled, so the
    test takes one session's life and a little more however fast the machine trains."""
    with Client(url_of(short_sessions_server, tenant), api_key=api_key_for(tenant)) as client:
        trades = requests_to(client, "/session/")
        run = client.training_runs.submit(
            slice=digits["id"], spec="small_cnn", hyperparameters={"epochs": 100}
        )
        events, cancelled = [], False
        for event in client.training_runs.events(run, timeout=180):
            events.append(event)
            if len(trades) >= 2 and not cancelled:  # followed into a second session
                client.training_runs.cancel(run)
                cancelled = True
    assert len(trades) >= 2 and events[-1]["type"] == "run.cancelled"
    assert [event["seq"] for event in events] == list(range(1, len(events) + 1))


def test_a_bearer_token_signs_calls_as_its_member(api_url, tenant, make_member):
    member = make_member(tenant, Role.VIEWER)
    with Client(api_url, token=token_for(tenant, member)) as client:
        me = client.me()
    assert (me["user"]["email"], me["via"]) == (member.email, "jwt")


def test_an_unknown_api_key_is_refused_in_the_apis_error_body(api_url):
    with (
        Client(api_url, api_key="lk_not-a-key") as client,
        pytest.raises(AuthenticationError) as raised,
    ):
        client.me()
    error = raised.value
    assert (error.status, error.code) == (401, "invalid_api_key")
    assert error.detail and error.error_id


def test_a_key_of_another_tenant_is_refused_at_this_tenants_host(api_url, other_tenant):
    with (
        Client(api_url, api_key=api_key_for(other_tenant)) as client,
        pytest.raises(PermissionDenied) as raised,
    ):
        client.me()
    assert (raised.value.status, raised.value.code) == (403, "tenant_mismatch")
