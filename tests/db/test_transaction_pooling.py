"""The platform behind PgBouncer in transaction pooling mode (DB_POOLING=transaction): two
tenants' concurrent requests never see or write each other's rows, and reads still go to the
replica.

Two real servers share the PgBouncers `scripts/services.sh up` starts (one before the
primary, one before the replica): their requests interleave on the same pooled server
connections, which is where a search path set for the session would leak (docs/pooling.md)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.conf import settings
from django.db import connections
from django_tenants.utils import tenant_context

from apps.projects.models import Project
from tenants.models import Tenant
from tenants.roles import Role
from tests.support import processes
from tests.support.database import wait_for_replica_catch_up
from tests.support.server_clients import member_clients

# Where `scripts/services.sh up` starts PgBouncer, before the primary and the replica.
PGBOUNCER_PRIMARY = "127.0.0.1:56432"
PGBOUNCER_REPLICA = "127.0.0.1:56433"
SERVERS = 2
ROUNDS = 15
READERS_PER_TENANT = 2


def _url(address: str) -> str:
    config = settings.DATABASES["default"]
    return f"postgres://{config['USER']}@{address}/{config['NAME']}"


def _session_address() -> str:
    """The primary itself: this run's own, unless the run goes through PgBouncer already."""
    if settings.DB_POOLING == "transaction":
        return settings.DB_SESSION_ADDRESS
    config = settings.DATABASES["default"]
    return f"{config['HOST']}:{config['PORT']}"


@pytest.fixture(scope="module")
def pooled_servers(django_db_setup, tmp_path_factory) -> Iterator[list[processes.RunningProcess]]:
    env = {
        "DATABASE_URL": _url(PGBOUNCER_PRIMARY),
        "DATABASE_REPLICA_URL": _url(PGBOUNCER_REPLICA),
        "DB_POOLING": "transaction",
        "DB_SESSION_ADDRESS": _session_address(),
    }
    folder = tmp_path_factory.mktemp("pooled-servers")
    with (
        processes.asgi_server(folder / "server-1.log", env=env) as first,
        processes.asgi_server(folder / "server-2.log", env=env) as second,
    ):
        yield [first, second]


@pytest.fixture
def clients_of(pooled_servers, live_db) -> Iterator[Callable]:
    """clients_of(tenant, user): the member's signed-in client of each pooled server."""
    with member_clients(pooled_servers[0]) as first, member_clients(pooled_servers[1]) as second:
        yield lambda tenant, user: [first(tenant, user), second(tenant, user)]


def _names(client: httpx.Client) -> list[str]:
    response = client.get("/api/v1/projects/")
    assert response.status_code == 200, response.text
    return [project["name"] for project in response.json()["results"]]


def test_two_tenants_requests_interleaved_through_the_pool_never_meet(
    make_tenant, make_member, clients_of
):
    tenants = [make_tenant(), make_tenant()]
    writers = {t.slug: clients_of(t, make_member(t, Role.EDITOR)) for t in tenants}
    readers = {
        t.slug: [
            c for _ in range(READERS_PER_TENANT) for c in clients_of(t, make_member(t, Role.VIEWER))
        ]
        for t in tenants
    }
    done = threading.Event()
    foreign: list[tuple[str, str]] = []  # (tenant, a name it was shown that is not its own)

    def write(slug: str, server: int) -> set[str]:
        made = set()
        client = writers[slug][server]
        for n in range(ROUNDS):
            name = f"{slug}/{server}/{n}"
            created = client.post("/api/v1/projects/", json={"name": name})
            assert created.status_code == 201, created.text
            made.add(name)
            shown = _names(client)
            foreign.extend((slug, other) for other in shown if not other.startswith(f"{slug}/"))
            assert name in shown  # read-your-writes, through the pool
        return made

    def read(slug: str, client: httpx.Client) -> int:
        reads = 0
        while not done.is_set():
            shown = _names(client)
            foreign.extend((slug, other) for other in shown if not other.startswith(f"{slug}/"))
            reads += 1
        return reads

    with ThreadPoolExecutor(
        max_workers=len(tenants) * (SERVERS + SERVERS * READERS_PER_TENANT)
    ) as pool:
        reading = [
            pool.submit(read, slug, client)
            for slug, clients in readers.items()
            for client in clients
        ]
        writing = {
            (t.slug, server): pool.submit(write, t.slug, server)
            for t in tenants
            for server in range(SERVERS)
        }
        try:
            made = {key: future.result() for key, future in writing.items()}
        finally:
            done.set()
        assert all(future.result() > 0 for future in reading)
    assert foreign == []
    for each in tenants:
        with tenant_context(each):
            stored = set(Project.objects.using("default").values_list("name", flat=True))
        expected = set().union(*(names for (slug, _), names in made.items() if slug == each.slug))
        assert stored == expected, f"{each.slug} holds {sorted(stored ^ expected)} it should not"


def _replica_scans(tenant: Tenant) -> int:
    """How often the replica itself has read the tenant's project table (its own statistics,
    which no other server's reads change)."""
    with connections["replica"].cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables "
            "WHERE schemaname = %s AND relname = 'projects_project'",
            [tenant.schema_name],
        )
        return cursor.fetchone()[0]


def test_reads_through_the_pool_are_answered_by_the_replica(tenant, make_member, clients_of):
    with tenant_context(tenant):
        Project.objects.create(name="seen on the replica")
    viewers = clients_of(tenant, make_member(tenant, Role.VIEWER))
    wait_for_replica_catch_up()
    before = _replica_scans(tenant)
    for _ in range(5):
        for viewer in viewers:
            assert _names(viewer) == ["seen on the replica"]
    # A standby publishes its statistics within seconds of the reads, not at once.
    deadline = time.monotonic() + 30
    while _replica_scans(tenant) < before + 10:
        assert time.monotonic() < deadline, "the replica did not serve the reads"
        time.sleep(0.5)
