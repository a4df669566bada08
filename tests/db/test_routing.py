"""Reads go to the real replica, writes to the primary, with read-your-writes stickiness:
within a request, and across a principal's requests."""

import time

import pytest
from django.db import connections
from django.test import Client, override_settings
from django_tenants.utils import tenant_context

from apps.projects.models import Project
from tenants.models import User
from tenants.roles import Role
from tests.conftest import host_of, token_for
from tests.support.database import replica_stopped, wait_for_replica_back, wait_for_replica_catch_up
from tests.support.processes import services
from tests.support.queries import in_recovery, queries_by_alias

pytestmark = pytest.mark.serial  # The replica is stopped, and its replay paused, here.

TABLE = "projects_project"


@pytest.fixture
def owner_client(tenant, make_member, client_for):
    client = client_for(tenant, make_member(tenant, Role.OWNER))
    wait_for_replica_catch_up()
    return client


@pytest.fixture
def paused_replay(live_db):
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")
    yield
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_resume()")


@pytest.fixture
def stopped_replica(live_db):
    with replica_stopped():
        yield


def test_the_replica_alias_is_a_standby_and_the_primary_is_not(live_db):
    assert in_recovery("replica") is True
    assert in_recovery("default") is False


def test_request_that_writes_then_reads_sees_its_row_while_replay_is_paused(
    owner_client, paused_replay
):
    with queries_by_alias() as queries:
        response = owner_client.post(
            "/api/v1/projects/", {"name": "cars"}, content_type="application/json"
        )
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "cars"
    # The read-back ran on the primary; the replica has not even replayed the row.
    assert any(sql.lstrip().startswith("SELECT") for sql in queries.touching("default", TABLE))
    assert queries.touching("replica", TABLE) == []
    with connections["replica"].cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {TABLE} WHERE name = 'cars'")
        assert cursor.fetchone()[0] == 0


@pytest.fixture
def viewer_client(tenant, make_member, client_for):
    client = client_for(tenant, make_member(tenant, Role.VIEWER))
    client.get("/api/v1/me/")  # links the token's subject to its user
    wait_for_replica_catch_up()
    return client


def test_a_client_reads_back_what_it_made_in_its_next_requests_while_replay_is_paused(
    owner_client, viewer_client, paused_replay
):
    made = []
    for n in range(20):
        created = owner_client.post(
            "/api/v1/projects/", {"name": f"project {n}"}, content_type="application/json"
        )
        assert created.status_code == 201, created.content
        made.append(created.json()["id"])
        # The next request, a read: served by the primary, the replica being behind.
        assert owner_client.get(f"/api/v1/projects/{made[-1]}/").status_code == 200
    # Another principal's reads keep going to the replica, which has replayed none of them.
    with queries_by_alias() as queries:
        assert viewer_client.get(f"/api/v1/projects/{made[0]}/").status_code == 404
    assert queries.touching("replica", TABLE) and queries.touching("default", TABLE) == []


def test_a_new_tenants_first_requests_find_its_schema_while_replay_is_paused(
    make_tenant, paused_replay
):
    tenant = make_tenant()
    owner = User.objects.get(memberships__tenant=tenant)
    client = Client(
        HTTP_HOST=host_of(tenant), HTTP_AUTHORIZATION=f"Bearer {token_for(tenant, owner)}"
    )
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT to_regnamespace(%s)", [tenant.schema_name])
        assert cursor.fetchone()[0] is None  # the replica has not replayed the schema
    with queries_by_alias() as queries:
        for path in ("/api/v1/me/", "/api/v1/projects/", "/api/v1/jobs/"):
            response = client.get(path)
            assert response.status_code == 200, (path, response.content)
    assert queries.touching("default", TABLE)
    assert queries.touching("replica", TABLE) == []


def test_fresh_read_only_request_is_served_by_the_replica(owner_client):
    with queries_by_alias() as queries:
        response = owner_client.get("/api/v1/projects/")
    assert response.status_code == 200
    assert queries.touching("replica", TABLE)
    assert queries.touching("default", TABLE) == []
    assert in_recovery("replica")


def test_tenant_reading_through_the_replica_never_sees_another_tenants_rows(
    tenant, other_tenant, make_member, client_for
):
    for each in (tenant, other_tenant):
        with tenant_context(each):
            Project.objects.create(name=f"only-in-{each.slug}")
    client = client_for(tenant, make_member(tenant, Role.VIEWER))
    wait_for_replica_catch_up()
    with queries_by_alias() as queries:
        response = client.get("/api/v1/projects/")
    assert [p["name"] for p in response.json()["results"]] == [f"only-in-{tenant.slug}"]
    assert queries.touching("replica", TABLE)
    with connections["replica"].cursor() as cursor:
        cursor.execute("SHOW search_path")
        assert cursor.fetchone()[0].replace('"', "") == f"{tenant.schema_name}, public"


def test_with_the_replica_stopped_reads_fall_back_to_the_primary(owner_client, stopped_replica):
    time.sleep(0.3)  # past REPLICA_CHECK_INTERVAL_SECONDS: the next check sees it down
    with queries_by_alias() as queries:
        response = owner_client.get("/api/v1/projects/")
    assert response.status_code == 200
    assert queries.touching("default", TABLE)
    ready = owner_client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["failing"] == ["replica"]


def test_a_read_that_fails_on_a_replica_believed_healthy_is_answered_by_the_primary(
    owner_client,
):
    with override_settings(REPLICA_CHECK_INTERVAL_SECONDS=0):
        assert owner_client.get("/api/v1/projects/").status_code == 200  # verdict: healthy
    for alias in connections:
        connections[alias].close()
    services("replica-stop")
    try:
        with override_settings(REPLICA_CHECK_INTERVAL_SECONDS=3600), queries_by_alias() as queries:
            response = owner_client.get("/api/v1/projects/")
        assert response.status_code == 200
        assert queries.touching("default", TABLE)
    finally:
        services("replica-start")
        wait_for_replica_back()


@override_settings(REPLICA_MAX_LAG_SECONDS=2)
def test_past_the_lag_bound_reads_go_to_the_primary_and_readyz_names_the_replica(
    tenant, viewer_client
):
    with tenant_context(tenant):
        Project.objects.create(name="replayed")
    wait_for_replica_catch_up()  # the replica's last replayed write: a moment ago
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")
    try:
        with tenant_context(tenant):
            made = Project.objects.create(name="written elsewhere")  # not the viewer's write
        path = f"/api/v1/projects/{made.pk}/"
        assert viewer_client.get(path).status_code == 404  # the replica: behind, within bound
        time.sleep(3)  # its last replayed write is now older than the bound
        with queries_by_alias() as queries:
            response = viewer_client.get(path)
        assert response.status_code == 200, response.content
        assert queries.touching("default", TABLE) and queries.touching("replica", TABLE) == []
        ready = viewer_client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["failing"] == ["replica"]
        assert "lags more than 2" in ready.json()["components"]["replica"]["error"]
    finally:
        with connections["replica"].cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")
