"""Fixtures for webhooks: an admin's client, a receiver in the test process, and a way to
register a webhook on it and read its deliveries' log."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest

from tenants.roles import Role
from tests.support.database import wait_for_replica_catch_up
from tests.support.webhook_receiver import Receiver

ENDED = ["job.succeeded", "job.failed", "job.cancelled"]


@pytest.fixture
def admin(tenant, make_member, client_for):
    return client_for(tenant, make_member(tenant, Role.ADMIN))


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


def register(client, url: str, events: list[str] = ENDED) -> dict:
    response = client.post(
        "/api/v1/webhooks/", {"url": url, "events": events}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def deliveries(client, webhook_id: int) -> list[dict]:
    wait_for_replica_catch_up()
    response = client.get(f"/api/v1/webhooks/{webhook_id}/deliveries/")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def wait_for_deliveries(client, webhook_id: int, *, count: int = 1, timeout=60.0) -> list[dict]:
    """The webhook's newest deliveries once `count` of them have ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = deliveries(client, webhook_id)
        if len([d for d in log if d["status"] != "pending"]) >= count:
            return log
        time.sleep(0.2)
    raise AssertionError(f"deliveries of webhook {webhook_id} did not end: {log}")


def verified(secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300) -> bool:
    """The receiver's check, as docs/webhooks.md writes it: the signature is the HMAC-SHA256
    of "<t>.<body>" under the secret, and t is recent."""
    parts = dict(item.split("=", 1) for item in headers["Loupe-Signature"].split(","))
    signed = parts["t"].encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(parts["t"])) <= tolerance
    return fresh and hmac.compare_digest(expected, parts["v1"])
