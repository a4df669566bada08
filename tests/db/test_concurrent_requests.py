"""The read router through the real ASGI server under concurrent requests: one principal's
read-your-writes pin stays with that principal, and a replica that stops mid-traffic costs no
request a 500.

Which database served a read is seen from outside the server with the replica's replay paused:
a row written during the pause is found on the primary and not (yet) on the replica."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest
from django.db import connections
from django_tenants.utils import tenant_context

from apps.projects.models import Project
from tenants.models import Tenant, User
from tenants.roles import Role
from tests.support import processes
from tests.support.database import wait_for_replica_back, wait_for_replica_catch_up
from tests.support.server_clients import member_clients

pytestmark = pytest.mark.serial  # The replica is stopped, and its replay paused, here.

# The server under test tolerates this much lag, so a replica paused for the few seconds a test
# takes keeps serving reads (and stays the one that cannot see what was written meanwhile).
LAG_BOUND_SECONDS = 60
READERS = 8
WRITES = 6


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("concurrent-server") / "server.log"
    env = {"REPLICA_MAX_LAG_SECONDS": str(LAG_BOUND_SECONDS)}
    with processes.asgi_server(log_path, env=env) as running:
        yield running


@pytest.fixture
def api_for(server, live_db) -> Iterator[Callable[[Tenant, User], httpx.Client]]:
    """An HTTP client of the real server for one member, signed in (its first request links
    the token to the user, a write) before the replica is caught up."""
    with member_clients(server) as make:
        yield make


@contextmanager
def replay_paused() -> Iterator[None]:
    """Replay paused on the replica, the pause starting just after it caught up (so its lag,
    the age of its last replayed write, starts near zero); always resumed."""
    wait_for_replica_catch_up()
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")
    try:
        yield
    finally:
        with connections["replica"].cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")


def project_names(client: httpx.Client) -> set[str]:
    response = client.get("/api/v1/projects/")
    assert response.status_code == 200, response.text
    return {project["name"] for project in response.json()["results"]}


def test_a_writers_pin_stays_with_it_while_others_read_from_the_replica_concurrently(
    tenant, make_member, api_for
):
    writer = api_for(tenant, make_member(tenant, Role.EDITOR))
    readers = [api_for(tenant, make_member(tenant, Role.VIEWER)) for _ in range(READERS)]
    start = threading.Barrier(1 + READERS)
    writer_done = threading.Event()
    made: list[int] = []

    def write_and_read_back() -> list[str]:
        """Each write read back in the same request (the POST's answer) and in the next two;
        returns what went wrong."""
        wrong = []
        start.wait()
        try:
            for n in range(WRITES):
                created = writer.post("/api/v1/projects/", json={"name": f"paused-{n}"})
                assert created.status_code == 201, created.text
                made.append(created.json()["id"])
                if writer.get(f"/api/v1/projects/{made[-1]}/").status_code != 200:
                    wrong.append(f"paused-{n} not found by its writer")
                missing = {f"paused-{i}" for i in range(n + 1)} - project_names(writer)
                if missing:
                    wrong.append(f"the writer's list lacks {sorted(missing)}")
        finally:
            writer_done.set()
        return wrong

    def read(reader: httpx.Client) -> tuple[int, list[str]]:
        """Reads until the writer is done; returns how many, and what it should not have seen."""
        reads, seen = 0, []
        start.wait()
        while not writer_done.is_set():
            seen += sorted(name for name in project_names(reader) if name.startswith("paused-"))
            if made:
                latest = reader.get(f"/api/v1/projects/{made[-1]}/")
                if latest.status_code != 404:
                    seen.append(f"project {made[-1]}: {latest.status_code}")
            reads += 1
        return reads, seen

    with replay_paused():
        began = time.monotonic()
        with ThreadPoolExecutor(max_workers=1 + READERS) as pool:
            writing = pool.submit(write_and_read_back)
            reading = [pool.submit(read, reader) for reader in readers]
            writer_wrong = writing.result()
            read_results = [each.result() for each in reading]
        elapsed = time.monotonic() - began
        assert elapsed < LAG_BOUND_SECONDS / 2  # the replica served within its lag bound
        # The replica, paused, has none of the writes; the primary has them all.
        with tenant_context(tenant):
            on_replica = Project.objects.using("replica").filter(name__startswith="paused-")
            assert not on_replica.exists()
    assert writer_wrong == []
    assert [seen for _, seen in read_results] == [[]] * READERS
    # Every reader's requests overlapped the writer's, which pinned it to the primary.
    assert all(reads >= 2 for reads, _ in read_results), read_results
    # Once replayed, the readers see the rows: what hid them was the replica, not their role.
    wait_for_replica_catch_up()
    assert {f"paused-{n}" for n in range(WRITES)} <= project_names(readers[0])


def _served_by_replica(tenant: Tenant, client: httpx.Client, timeout: float = 15.0) -> bool:
    """Whether the server sends the client's reads to the replica again, within `timeout`:
    a row written while replay is paused is found only on the primary, so a 404 for it can
    only have come from the replica."""
    with tenant_context(tenant):
        Project.objects.create(name="replayed before the pause")
    with replay_paused():
        with tenant_context(tenant):
            hidden = Project.objects.create(name="not on the replica")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if client.get(f"/api/v1/projects/{hidden.pk}/").status_code == 404:
                return True
            time.sleep(0.2)
    return False


def test_concurrent_reads_through_a_replica_stop_all_answer_and_return_to_the_replica(
    tenant, make_member, api_for
):
    with tenant_context(tenant):
        Project.objects.create(name="known")
    readers = [api_for(tenant, make_member(tenant, Role.VIEWER)) for _ in range(READERS)]
    wait_for_replica_catch_up()
    phase = ["replica up"]
    stop = threading.Event()

    def read(reader: httpx.Client) -> list[tuple[str, int, bool]]:
        """(phase, status, whether the answer listed the known project) for each read."""
        answers = []
        while not stop.is_set():
            during = phase[0]
            response = reader.get("/api/v1/projects/")
            listed = response.status_code == 200 and any(
                p["name"] == "known" for p in response.json()["results"]
            )
            answers.append((during, response.status_code, listed))
        return answers

    with ThreadPoolExecutor(max_workers=READERS) as pool:
        reading = [pool.submit(read, reader) for reader in readers]
        try:
            time.sleep(0.5)
            for alias in connections:
                connections[alias].close()
            phase[0] = "stopping"
            processes.services("replica-stop")
            phase[0] = "replica down"
            time.sleep(1.5)
        finally:
            phase[0] = "starting"
            processes.services("replica-start")
            wait_for_replica_back()
            phase[0] = "replica back"
            time.sleep(0.5)
            stop.set()
        answers = [answer for each in reading for answer in each.result()]
    failed = [answer for answer in answers if answer[1:] != (200, True)]
    assert failed == [], failed
    served = {during for during, _, _ in answers}
    assert {"replica up", "replica down", "replica back"} <= served, served
    wait_for_replica_catch_up()
    assert _served_by_replica(tenant, readers[0])
