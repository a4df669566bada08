"""Failed authentications are throttled per client address, and only the failures: a flood of
bad credentials from one address never stops a valid credential from it (behind a load
balancer or a NAT, many people share one), and X-Forwarded-For names the client only when a
trusted proxy sends it."""

import ipaddress
import secrets
import uuid

import httpx
import pytest
from django.conf import settings
from django.test import Client, override_settings

from tenants.identity.api_keys import create_api_key
from tenants.roles import Role
from tests.conftest import host_of, token_for
from tests.support import processes

LIMIT = 3
PROXY = "192.0.2.10"
TRUSTED = [ipaddress.ip_network("192.0.2.0/24")]


@pytest.fixture(autouse=True)
def _low_limit():
    with override_settings(AUTH_FAILURES_PER_MINUTE=LIMIT):
        yield


def _address() -> str:
    """A client address no other test, nor an earlier run within the throttle's window, used."""
    return str(ipaddress.IPv6Address((0x20010DB8 << 96) | secrets.randbits(96)))


def _bad_token(tenant, *, peer: str, forwarded_for: str | None = None) -> int:
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    client = Client(HTTP_HOST=host_of(tenant), REMOTE_ADDR=peer, **headers)
    return client.get("/api/v1/me/", HTTP_AUTHORIZATION="Bearer junk").status_code


def _bad_key(tenant, *, peer: str) -> int:
    client = Client(HTTP_HOST=host_of(tenant), REMOTE_ADDR=peer)
    return client.post("/api/v1/session/", HTTP_X_API_KEY="lk_not-a-real-key").status_code


def _flood(tenant, *, peer: str, forwarded_for: str | None = None) -> list[int]:
    return [_bad_token(tenant, peer=peer, forwarded_for=forwarded_for) for _ in range(LIMIT + 1)]


@pytest.fixture
def credentials(tenant, make_member) -> dict[str, str]:
    """A member's three credentials: their JWT, an API key, and a session traded for it."""
    member = make_member(tenant, Role.EDITOR)
    _, key = create_api_key(tenant=tenant, name="ci", role=Role.VIEWER, actor=member)
    traded = Client(HTTP_HOST=host_of(tenant), REMOTE_ADDR=_address()).post(
        "/api/v1/session/", HTTP_X_API_KEY=key
    )
    assert traded.status_code == 201, traded.content
    return {
        "jwt": token_for(tenant, member),
        "api_key": key,
        "session": traded.json()["session_token"],
    }


def _use(tenant, kind: str, credential: str, *, peer: str) -> int:
    client = Client(HTTP_HOST=host_of(tenant), REMOTE_ADDR=peer)
    if kind == "api_key":
        return client.post("/api/v1/session/", HTTP_X_API_KEY=credential).status_code
    return client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {credential}").status_code


@pytest.mark.parametrize("fail", [_bad_token, _bad_key], ids=["bearer", "api_key"])
def test_the_flooding_client_is_answered_429_past_the_limit(tenant, fail):
    peer = _address()
    assert [fail(tenant, peer=peer) for _ in range(LIMIT + 1)] == [401] * LIMIT + [429]


@pytest.mark.parametrize(("kind", "served"), [("jwt", 200), ("session", 200), ("api_key", 201)])
def test_a_valid_credential_is_served_during_a_flood_from_its_address(
    tenant, credentials, kind, served
):
    peer = _address()
    assert _flood(tenant, peer=peer)[-1] == 429
    assert _use(tenant, kind, credentials[kind], peer=peer) == served


def test_a_forged_forwarded_for_from_an_untrusted_peer_still_counts_against_the_peer(tenant):
    peer = _address()
    codes = [_bad_token(tenant, peer=peer, forwarded_for=_address()) for _ in range(LIMIT + 1)]
    assert codes == [401] * LIMIT + [429]


def test_a_forged_forwarded_for_cannot_put_the_failures_on_another_address(tenant):
    victim = _address()
    assert _flood(tenant, peer=_address(), forwarded_for=victim)[-1] == 429
    assert _bad_token(tenant, peer=victim) == 401


@override_settings(TRUSTED_PROXIES=TRUSTED)
def test_behind_a_trusted_proxy_the_forwarded_client_is_counted(tenant):
    # The client forges the header's left end anew each time; the proxies append the rest.
    client = _address()
    codes = [
        _bad_token(tenant, peer=PROXY, forwarded_for=f"{_address()}, {client}, 192.0.2.20")
        for _ in range(LIMIT + 1)
    ]
    assert codes == [401] * LIMIT + [429]


@override_settings(TRUSTED_PROXIES=TRUSTED)
def test_behind_a_trusted_proxy_another_client_is_not_counted_with_the_flooder(tenant):
    assert _flood(tenant, peer=PROXY, forwarded_for=_address())[-1] == 429
    assert _bad_token(tenant, peer=PROXY, forwarded_for=_address()) == 401


@pytest.fixture(scope="module")
def throttled_server(django_db_setup, tmp_path_factory):
    """The real ASGI server, as `make run` starts it, with a low limit and failure counts of
    its own (a key prefix no other test shares)."""
    env = {
        "AUTH_FAILURES_PER_MINUTE": str(LIMIT),
        "REDIS_KEY_PREFIX": f"{settings.REDIS_KEY_PREFIX}-throttle-{uuid.uuid4().hex[:8]}",
    }
    log_path = tmp_path_factory.mktemp("throttled-server") / "server.log"
    with processes.asgi_server(log_path, env=env) as server:
        yield server


def test_the_real_server_counts_the_peer_whatever_it_forwards_and_serves_a_member(
    throttled_server, tenant, make_member
):
    member = make_member(tenant, Role.VIEWER)
    with httpx.Client(base_url=throttled_server.url, headers={"Host": host_of(tenant)}) as http:
        codes = [
            http.get(
                "/api/v1/me/",
                headers={"Authorization": "Bearer junk", "X-Forwarded-For": _address()},
            ).status_code
            for _ in range(LIMIT + 1)
        ]
        served = http.get(
            "/api/v1/me/", headers={"Authorization": f"Bearer {token_for(tenant, member)}"}
        )
    assert codes == [401] * LIMIT + [429]
    assert served.status_code == 200, served.text
