"""Each service stopped and started several times in a row, as an operator would with
scripts/services.sh: a stop returns only once nothing listens on the service's ports, and the
start right after it brings the service back answering (rather than a server that dies on a
port the last one still held)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connections

from tests.support import processes, s3

pytestmark = pytest.mark.serial  # Every service is stopped here.

RESTARTS = 3
# The bucket scripts/services.sh makes on the local S3 server.
BUCKET = "loupe"


def _postgres(alias: str) -> psycopg.Connection:
    config = settings.DATABASES[alias]
    return psycopg.connect(
        host=config["HOST"],
        port=config["PORT"],
        user=config["USER"],
        dbname="postgres",
        connect_timeout=5,
        autocommit=True,
    )


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname, parts.port


def _database_address(alias: str) -> tuple[str, int]:
    config = settings.DATABASES[alias]
    return config["HOST"], int(config["PORT"])


def _elasticsearch_addresses() -> list[tuple[str, int]]:
    """The HTTP port, and the transport port the node itself says it is bound to."""
    nodes = httpx.get(f"{settings.ELASTICSEARCH_URL}/_nodes/_local/transport", timeout=10)
    (node,) = nodes.json()["nodes"].values()
    host, port = node["transport"]["publish_address"].rsplit(":", 1)
    return [_address(settings.ELASTICSEARCH_URL), (host, int(port))]


def _primary_answers() -> tuple:
    """A query, and the replica streaming from this primary (primary-start waits for it)."""
    with _postgres("default") as conn:
        return conn.execute(
            "SELECT 1, (SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming')"
        ).fetchone()


def _replica_answers() -> tuple:
    with _postgres("replica") as conn:
        return conn.execute(
            "SELECT pg_is_in_recovery(), (SELECT status FROM pg_stat_wal_receiver)"
        ).fetchone()


def _redis_answers() -> bool:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5).ping()


def _elasticsearch_answers() -> bool:
    health = httpx.get(f"{settings.ELASTICSEARCH_URL}/_cluster/health", timeout=10).json()
    return health["status"] in ("green", "yellow")


def _s3_answers() -> bool:
    buckets = s3.client(BUCKET).list_buckets()["Buckets"]
    return BUCKET in {bucket["Name"] for bucket in buckets}


@dataclass(frozen=True)
class Service:
    command: str  # scripts/services.sh's <command>-stop and <command>-start
    addresses: Callable[[], list[tuple[str, int]]]
    answers: Callable[[], object]
    answer: object


SERVICES = [
    Service("primary", lambda: [_database_address("default")], _primary_answers, (1, 1)),
    Service(
        "replica", lambda: [_database_address("replica")], _replica_answers, (True, "streaming")
    ),
    Service("redis", lambda: [_address(settings.REDIS_URL)], _redis_answers, True),
    Service("elasticsearch", _elasticsearch_addresses, _elasticsearch_answers, True),
    Service("s3", lambda: [_address(s3.connection().endpoint_url)], _s3_answers, True),
]


def _listening(address: tuple[str, int]) -> bool:
    try:
        socket.create_connection(address, timeout=2).close()
    except OSError:
        return False
    return True


@pytest.mark.timeout(600)
@pytest.mark.parametrize("service", SERVICES, ids=lambda service: service.command)
def test_a_service_stopped_and_started_again_several_times_in_a_row_answers_each_time(service):
    addresses = service.addresses()
    try:
        for _ in range(RESTARTS):
            processes.services(f"{service.command}-stop")
            assert not any(_listening(address) for address in addresses)
            processes.services(f"{service.command}-start")
            assert service.answers() == service.answer
    finally:
        processes.services(f"{service.command}-start")  # a no-op when it runs
        connections.close_all()  # sessions of this process to a server restarted are dead


def test_a_primary_restarted_several_times_in_a_row_comes_back_with_its_replica_streaming():
    started = []
    try:
        for _ in range(RESTARTS):
            processes.services("primary-restart")
            with _postgres("default") as conn:
                started += conn.execute("SELECT pg_postmaster_start_time()").fetchone()
            assert _primary_answers() == (1, 1)
    finally:
        processes.services("primary-start")
        connections.close_all()
    assert sorted(set(started)) == started  # a new server each time
