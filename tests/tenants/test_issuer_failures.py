"""The identity provider misbehaving: a key withdrawn, the issuer down or slow. An issuer that
answers is believed; one that cannot be reached changes nothing about the keys already
cached, and a token whose key is not cached answers 503 within the fetch timeout."""

import ipaddress
import logging
import secrets
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.test import Client, override_settings

from tenants.roles import Role
from tests.conftest import host_of
from tests.support import processes
from tests.support.database import wait_for_replica_catch_up
from tests.support.issuer import ExternalIssuer

TIMEOUT = 1.0  # OIDC_FETCH_TIMEOUT_SECONDS here
PROMPT = TIMEOUT + 2  # a generous bound on an answer that waits for the timeout at most
HELD_BACK = 30.0  # how long the slow issuer takes to answer: far past the timeout


@pytest.fixture
def issuer(live_db):
    with (
        ExternalIssuer() as issuer,
        override_settings(
            OIDC_ISSUER=issuer.url,
            OIDC_JWKS_MIN_REFRESH_SECONDS=0,
            OIDC_FETCH_TIMEOUT_SECONDS=TIMEOUT,
        ),
    ):
        yield issuer


@pytest.fixture
def member(tenant, make_member):
    member = make_member(tenant, Role.VIEWER)
    wait_for_replica_catch_up()
    return member


def _me(tenant, token: str, *, peer: str = "127.0.0.1"):
    client = Client(HTTP_HOST=host_of(tenant), REMOTE_ADDR=peer)
    return client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token}")


def _timed_me(tenant, token: str):
    started = time.monotonic()
    response = _me(tenant, token)
    return response, time.monotonic() - started


def _token(issuer, tenant, member, key_index: int = 0) -> str:
    return issuer.keys[key_index].sign(issuer.claims(email=member.email, tenant=tenant.slug))


@override_settings(OIDC_JWKS_MAX_AGE_SECONDS=2)
def test_a_withdrawn_key_is_refused_once_the_cached_keys_age_out(issuer, tenant, member):
    withdrawn = issuer.keys[1]
    token = _token(issuer, tenant, member, key_index=1)
    assert _me(tenant, token).status_code == 200
    issuer.keys.remove(withdrawn)
    assert _me(tenant, token).status_code == 200  # the cached keys are still young
    time.sleep(2.5)
    response = _me(tenant, token)
    assert (response.status_code, response.json()["code"]) == (401, "unknown_key")


@override_settings(OIDC_JWKS_MAX_AGE_SECONDS=0.5)
def test_cached_keys_keep_serving_past_their_age_while_the_issuer_is_down(issuer, tenant, member):
    token = _token(issuer, tenant, member)
    assert _me(tenant, token).status_code == 200
    issuer.stop()
    time.sleep(1)
    assert _me(tenant, token).status_code == 200


@override_settings(OIDC_JWKS_MAX_AGE_SECONDS=0.5)
def test_keys_kept_for_an_unreachable_issuer_are_logged_as_a_warning(
    issuer, tenant, member, caplog
):
    token = _token(issuer, tenant, member)
    assert _me(tenant, token).status_code == 200
    issuer.stop()
    time.sleep(1)
    with caplog.at_level(logging.WARNING, logger="tenants.identity.jwks"):
        _me(tenant, token)
    assert "2 cached keys keep serving" in caplog.text


def test_the_issuer_down_before_any_key_is_cached_answers_503(issuer, tenant, member):
    issuer.stop()
    response = _me(tenant, _token(issuer, tenant, member))
    assert response.status_code == 503
    assert response.json()["code"] == "issuer_unavailable"
    assert "identity provider cannot be reached" in response.json()["detail"]


@override_settings(AUTH_FAILURES_PER_MINUTE=1)
def test_an_unreachable_issuer_counts_no_failure_against_the_client(issuer, tenant, member):
    peer = str(ipaddress.IPv6Address((0x20010DB8 << 96) | secrets.randbits(96)))
    issuer.stop()
    token = _token(issuer, tenant, member)
    assert [_me(tenant, token, peer=peer).status_code for _ in range(3)] == [503] * 3
    # Had the three been counted, this first real failure would be past the limit: 429.
    assert _me(tenant, "junk", peer=peer).status_code == 401


@pytest.mark.parametrize("endpoint", ["discovery", "jwks"])
def test_a_slow_issuer_answers_503_within_the_fetch_timeout(issuer, tenant, member, endpoint):
    issuer.delays[endpoint] = HELD_BACK
    response, elapsed = _timed_me(tenant, _token(issuer, tenant, member))
    assert (response.status_code, response.json()["code"]) == (503, "issuer_unavailable")
    assert elapsed < PROMPT


@override_settings(OIDC_JWKS_MAX_AGE_SECONDS=0.5)
def test_a_slow_issuer_holds_a_cached_key_back_no_longer_than_the_timeout(issuer, tenant, member):
    token = _token(issuer, tenant, member)
    assert _me(tenant, token).status_code == 200
    issuer.delays["jwks"] = HELD_BACK
    time.sleep(1)
    response, elapsed = _timed_me(tenant, token)
    assert response.status_code == 200
    assert elapsed < PROMPT


@pytest.fixture
def slow_issuer_server(live_db, tmp_path):
    """The real ASGI server trusting an issuer whose JWKS answers long after the timeout."""
    with ExternalIssuer() as issuer:
        issuer.delays["jwks"] = HELD_BACK
        env = {
            "OIDC_ISSUER": issuer.url,
            "OIDC_FETCH_TIMEOUT_SECONDS": str(TIMEOUT),
            "OIDC_JWKS_MIN_REFRESH_SECONDS": "60",
        }
        with processes.asgi_server(tmp_path / "server.log", env=env) as server:
            yield issuer, server


def test_concurrent_requests_during_a_slow_fetch_share_one_fetch(
    slow_issuer_server, tenant, member
):
    issuer, server = slow_issuer_server
    headers = {"Host": host_of(tenant), "Authorization": f"Bearer {_token(issuer, tenant, member)}"}

    def me() -> tuple[int, float]:
        started = time.monotonic()
        response = httpx.get(f"{server.url}/api/v1/me/", headers=headers, timeout=HELD_BACK)
        return response.status_code, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: me(), range(8)))
    assert [status for status, _ in answers] == [503] * 8
    assert max(elapsed for _, elapsed in answers) < PROMPT
    assert issuer.fetches == {"discovery": 1, "jwks": 1}
