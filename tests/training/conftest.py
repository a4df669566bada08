"""Fixtures for training: the demo digits imported into the test tenant through the import
path, a slice over them, clients for each role, and ways to submit a run, wait for it and
follow its events over the real WebSocket."""

from __future__ import annotations

import io
import json
import time

import pytest
from django.core.management import call_command
from websockets.sync.client import connect

from tenants.roles import Role
from tests.conftest import host_of, token_for
from tests.support.database import wait_for_replica_catch_up

FINAL = ("succeeded", "failed", "cancelled")
# Logistic regression on 16 px images fits in a fraction of a second where the spec's 32 px
# takes seconds: for the tests that need a classical version, not its best figures.
QUICK_LR = {"hyperparameters": {"image_size": 16}}


@pytest.fixture
def editor(tenant, make_member, client_for):
    return client_for(tenant, make_member(tenant, Role.EDITOR))


@pytest.fixture
def viewer(tenant, make_member, client_for):
    """A viewer reading what the editor writes."""
    return client_for(tenant, make_member(tenant, Role.VIEWER), reads_others=True)


def import_demo(tenant, *options: str) -> None:
    call_command("demo_data", "--tenant", tenant.slug, *options, stdout=io.StringIO())


# The first digits of scikit-learn's 1,797, every class among them: what a test of the API
# trains on in seconds. The tests of what a run learns take them all (`all_digits`).
DIGITS = 400


def _digits_slice(tenant, client, *options: str) -> dict:
    import_demo(tenant, *options, "--shapes", "12")
    datasets = client.get("/api/v1/datasets/").json()["results"]
    dataset = next(d for d in datasets if d["name"] == "digits")
    return make_slice(client, dataset["id"], "all digits")


@pytest.fixture
def digits(tenant, editor) -> dict:
    """The first DIGITS digits (and 12 shapes), and a slice of the digits."""
    return _digits_slice(tenant, editor, "--digits", str(DIGITS))


@pytest.fixture
def all_digits(tenant, editor) -> dict:
    """Every one of the 1,797 digits (and 12 shapes), and a slice of the digits."""
    return _digits_slice(tenant, editor)


def make_slice(client, dataset_id: int, name: str, query: str = "") -> dict:
    response = client.post(
        "/api/v1/slices/",
        {"name": name, "dataset": dataset_id, "query": query},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def submit(client, slice_id: int, spec: str = "small_cnn", **fields):
    body = {"name": f"{spec} run", "spec": spec, "slice": slice_id, **fields}
    return client.post("/api/v1/training-runs/", body, content_type="application/json")


def started(client, slice_id: int, spec: str = "small_cnn", **fields) -> dict:
    response = submit(client, slice_id, spec, **fields)
    assert response.status_code == 202, response.content
    return response.json()


def wait_for_run(client, run_id: int, timeout: float = 180.0, statuses=FINAL) -> dict:
    wait_for_replica_catch_up()  # the run was made on the primary a moment ago
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/v1/training-runs/{run_id}/").json()
        if run["status"] in statuses:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not reach {statuses}: {run}")


def events_of(client, run_id: int, after: int = 0) -> list[dict]:
    events, url = [], f"/api/v1/training-runs/{run_id}/events/?after={after}&limit=100"
    while url:
        page = client.get(url).json()
        events += page["results"]
        url = page["next"]
    return events


def wait_for_event(client, run_id: int, predicate, timeout: float = 180.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in events_of(client, run_id):
            if predicate(event):
                return event
        time.sleep(0.2)
    raise AssertionError(f"run {run_id}: no such event in {timeout}s")


def run_socket(server, tenant, user, run_id: int, after: int | None = None):
    query = "" if after is None else f"?after={after}"
    return connect(
        f"ws://127.0.0.1:{server.port}/ws/training-runs/{run_id}/{query}",
        additional_headers={"Host": host_of(tenant)},
        subprotocols=["bearer", token_for(tenant, user)],
        open_timeout=10,
    )


def follow_to_end(ws, timeout: float = 180.0) -> list[dict]:
    """Every event the socket sends until the run's final one."""
    events = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        events.append(event)
        if event["type"] in ("run.succeeded", "run.failed", "run.cancelled"):
            return events
    raise AssertionError(f"no final event in {timeout}s: {events[-3:]}")
