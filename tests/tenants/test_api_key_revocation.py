"""Revoking an API key ends its sessions before the revocation commits, so none outlives it:
not through a Redis outage (the revocation is refused, and nothing changes), nor through a
trade of the key at the same moment."""

import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from django.db import connections, transaction
from django.test import Client
from django.utils import timezone
from redis.exceptions import RedisError

from loupe.redis_client import redis_client
from tenants.models import ApiKey
from tenants.roles import Role
from tests.conftest import host_of
from tests.support import processes

pytestmark = pytest.mark.serial  # Redis is stopped here.


@pytest.fixture
def admin_client(tenant, make_member, client_for):
    return client_for(tenant, make_member(tenant, Role.ADMIN))


def _create_key(admin_client) -> dict:
    response = admin_client.post(
        "/api/v1/api-keys/", {"name": "ci", "role": "editor"}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def _trade(tenant, key: str):
    return Client(HTTP_HOST=host_of(tenant)).post("/api/v1/session/", HTTP_X_API_KEY=key)


def _with_session(tenant, key: str) -> Client:
    traded = _trade(tenant, key)
    assert traded.status_code == 201, traded.content
    token = traded.json()["session_token"]
    return Client(HTTP_HOST=host_of(tenant), HTTP_AUTHORIZATION=f"Bearer {token}")


def _wait_for_ping(timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if redis_client().ping():
                return
        except RedisError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


@contextmanager
def redis_stopped():
    """The real Redis stopped for the block (other test runs share it: keep it short), and
    started again, answering PING, whatever happens in it."""
    processes.services("redis-stop")
    try:
        yield
    finally:
        processes.services("redis-start")
        _wait_for_ping()


def test_a_revocation_while_redis_is_down_answers_503_and_changes_nothing(tenant, admin_client):
    created = _create_key(admin_client)
    session = _with_session(tenant, created["key"])
    with redis_stopped():
        refused = admin_client.delete(f"/api/v1/api-keys/{created['id']}/")
        listed = admin_client.get("/api/v1/api-keys/")
    assert refused.status_code == 503, refused.content
    assert refused.json()["code"] == "revocation_unavailable"
    assert "Retry" in refused.json()["detail"]
    assert [key["revoked_at"] for key in listed.json() if key["id"] == created["id"]] == [None]
    assert session.get("/api/v1/me/").status_code == 200  # Redis is back, with the session

    assert admin_client.delete(f"/api/v1/api-keys/{created['id']}/").status_code == 204
    assert session.get("/api/v1/me/").status_code == 401


def _blocked_backends() -> int:
    """Backends of the test database waiting for a lock (read afresh, not from the snapshot
    the statistics keep for a transaction)."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def test_a_trade_during_a_revocation_waits_for_it_and_is_refused(tenant, admin_client):
    created = _create_key(admin_client)
    with ThreadPoolExecutor(max_workers=1) as pool:
        with transaction.atomic():  # a revocation, caught between its update and its commit
            ApiKey.objects.filter(pk=created["id"]).update(revoked_at=timezone.now())
            trade = pool.submit(_trade, tenant, created["key"])
            deadline = time.monotonic() + 10
            while not trade.done() and not _blocked_backends():
                assert time.monotonic() < deadline, "the trade neither waited nor answered"
                time.sleep(0.05)
            assert not trade.done(), "the trade went ahead of the revocation"
        assert trade.result(timeout=10).status_code == 401
