"""Fixtures shared by the whole suite: a fresh test database on the real primary (seen on the
real replica), tenants cloned from the template, and a live ASGI server and Celery worker."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import socket
import uuid

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.test import Client
from elasticsearch import ApiError, TransportError

from search.client import elasticsearch_client
from tenants.identity.api_keys import create_api_key
from tenants.identity.dev_issuer import issue_token
from tenants.models import Membership, Tenant, User
from tenants.roles import Role
from tenants.services import create_tenant
from tests import environment
from tests.support import database, processes
from tests.support.database import wait_for_replica_catch_up
from tests.support.mailbox import smtp_server

PUBLIC_HOSTS = ["localhost", "testserver", "127.0.0.1"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_blocker):
    """Recreate the test database, wait until the replica has it, then migrate it."""
    name = connections["default"].settings_dict["NAME"]
    for alias in connections:
        connections[alias].close()
    database.recreate(name)
    with django_db_blocker.unblock():
        call_command("bootstrap", public_domain=PUBLIC_HOSTS, verbosity=0)
    yield
    with django_db_blocker.unblock():
        for alias in connections:
            connections[alias].close()
    _drop_test_indexes()


def _drop_test_indexes() -> None:
    """The run's per-tenant indexes, dropped at its end: a run makes a few hundred, and left
    behind, a few runs fill the node's 1,000 shards and later index creations fail."""
    client = elasticsearch_client()
    if client is None:
        return
    with contextlib.suppress(ApiError, TransportError):
        names = list(
            client.indices.get(
                index=f"{settings.ELASTICSEARCH_INDEX_PREFIX}-*", expand_wildcards="all"
            )
        )
        for start in range(0, len(names), 50):  # by name: wildcard deletes are refused
            client.indices.delete(index=",".join(names[start : start + 50]))


@pytest.fixture
def live_db(django_db_setup, django_db_blocker):
    """Database access with real commits, as the server and workers see them."""
    with django_db_blocker.unblock():
        yield
        for alias in connections:
            connections[alias].set_schema_to_public()


_counter = itertools.count()


@pytest.fixture
def make_tenant(live_db):
    def make(slug: str | None = None, owner_email: str | None = None) -> Tenant:
        slug = slug or f"t{uuid.uuid4().hex[:8]}-{next(_counter)}"
        return create_tenant(
            slug=slug,
            name=slug.title(),
            domain=f"{slug}.localhost",
            owner_email=owner_email or f"owner-{slug}@example.com",
        )

    return make


@pytest.fixture
def tenant(make_tenant) -> Tenant:
    return make_tenant()


@pytest.fixture
def other_tenant(make_tenant) -> Tenant:
    return make_tenant()


@pytest.fixture
def make_member(live_db):
    def make(tenant: Tenant, role: Role = Role.EDITOR) -> User:
        user = User.objects.create_user(f"{role}-{uuid.uuid4().hex[:8]}@example.com")
        Membership.objects.create(user=user, tenant=tenant, role=role)
        return user

    return make


def host_of(tenant: Tenant) -> str:
    return tenant.get_primary_domain().domain


def token_for(tenant: Tenant, user: User, role: Role = Role.VIEWER, ttl: int = 3600) -> str:
    """A development-issuer token for a member (their stored role is what counts)."""
    return issue_token(email=user.email, tenant=tenant.slug, role=role, ttl_seconds=ttl)


def session_token_for(tenant: Tenant) -> str:
    """A session token for a viewer API key of the tenant, traded as a machine client does."""
    owner = tenant.memberships.get(role=Role.OWNER).user
    _, secret = create_api_key(tenant=tenant, name="session", role=Role.VIEWER, actor=owner)
    traded = Client(HTTP_HOST=host_of(tenant)).post("/api/v1/session/", HTTP_X_API_KEY=secret)
    assert traded.status_code == 201, traded.content
    return traded.json()["session_token"]


class OthersReader(Client):
    """A client for a member who reads what others have just written: their reads go to the
    replica, which shows another principal's write once it has replayed it (read-your-writes
    holds for the writer alone), so each request waits for that, as the seconds between one
    person's write and another's look do."""

    def request(self, **request):
        wait_for_replica_catch_up()
        return super().request(**request)


@pytest.fixture
def client_for(live_db):
    """An in-process HTTP client on a tenant's host; with `user`, it carries their bearer
    token (for the API) and their admin session (for the admin). With `reads_others`, it is
    an `OthersReader`."""

    def make(tenant: Tenant, user: User | None = None, *, reads_others: bool = False) -> Client:
        if user is None:
            return Client(HTTP_HOST=host_of(tenant))
        kind = OthersReader if reads_others else Client
        client = kind(
            HTTP_HOST=host_of(tenant), HTTP_AUTHORIZATION=f"Bearer {token_for(tenant, user)}"
        )
        client.force_login(user)
        # The first request links the token's subject to the user (a write), as at sign-in.
        client.get("/api/v1/me/")
        # As for a person who signs up and then clicks: the replica has caught up by then.
        wait_for_replica_catch_up()
        return client

    return make


@pytest.fixture(scope="session")
def asgi_server(django_db_setup, tmp_path_factory):
    """The real ASGI server (uvicorn) on a free port, sharing the test database."""
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    with processes.asgi_server(log_path) as server:
        yield server


class SessionWorker:
    """The default and index queues' worker as deployed (prefork, two processes), sharing the
    test database and Redis. A worker whose broker connection drops while it holds tasks not
    yet acknowledged can exit (kombu fails to hand them back), as a test that stops Redis
    may cause: each test starts with a live one, a new one if the last has exited."""

    def __init__(self, folder):
        self.folder, self.count, self._current = folder, 0, None
        self.start()

    def start(self) -> None:
        self.count += 1
        self._current = processes.celery_worker(
            self.folder / f"worker-{self.count}.log",
            queues="default,index",
            pool="prefork",
            concurrency=2,
        )
        running = self._current.__enter__()
        self.process, self.name = running.process, "celery@" + socket.gethostname()

    def ensure_alive(self) -> None:
        if self.process.poll() is not None:
            self.stop()
            self.start()

    def recover(self) -> None:
        """After an outage a test caused: the worker connected again, or a new one."""
        with contextlib.suppress(AssertionError):
            processes.wait_until_answering(self.name, timeout=15)
        self.ensure_alive()

    def stop(self) -> None:
        self._current.__exit__(None, None, None)


_session_worker: list[SessionWorker] = []


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, tmp_path_factory):
    """The session's SessionWorker, with beat beside it sending the periodic sweeps (jobs
    every JOB_SWEEP_SECONDS, outboxes every SEARCH_SWEEP_SECONDS: 2 s here)."""
    folder = tmp_path_factory.mktemp("worker")
    with processes.celery_beat(folder / "beat.log", folder):
        worker = SessionWorker(folder)
        _session_worker.append(worker)
        try:
            yield worker
        finally:
            _session_worker.remove(worker)
            worker.stop()


@pytest.fixture(autouse=True)
def _session_worker_alive():
    for worker in _session_worker:
        worker.ensure_alive()


class GpuWorkers:
    """The gpu queue's worker, as deployed (prefork, one run at a time); a test that kills
    it starts the next one through `replace`, which later tests then use."""

    def __init__(self, log_dir):
        self.log_dir, self.count, self._current = log_dir, 0, None
        self.start()

    def start(self) -> processes.RunningProcess:
        self.count += 1
        self._current = processes.celery_worker(
            self.log_dir / f"gpu-{self.count}.log",
            queues="gpu",
            name=f"gpu{self.count}@%h",
            pool="prefork",
            concurrency=1,
        )
        self.process = self._current.__enter__()
        return self.process

    def stop(self) -> None:
        self._current.__exit__(None, None, None)


@pytest.fixture(scope="session")
def gpu_worker(django_db_setup, tmp_path_factory):
    workers = GpuWorkers(tmp_path_factory.mktemp("gpu-worker"))
    yield workers
    workers.stop()


@pytest.fixture(autouse=True, scope="session")
def _environment_is_the_test_one():
    database = os.environ["DATABASE_URL"].rsplit("/", 1)[-1]
    assert re.fullmatch(r".+_test[1-9]?", database), "tests must never touch a real database"


@pytest.fixture(scope="session")
def mailbox():
    """The SMTP server the workers' EMAIL_URL names (tests/environment.py), and what it got."""
    controller, box = smtp_server(environment.MAIL_PORT)
    yield box
    controller.stop()
