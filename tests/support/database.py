"""Creating the test database on the primary and waiting for the replica to replay it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from django.conf import settings
from django.db import connections

from tests.support.processes import services
from tests.support.queries import in_recovery


def _maintenance_conninfo(alias: str) -> dict:
    config = settings.DATABASES[alias]
    return {
        "dbname": "postgres",
        "user": config["USER"],
        "password": config["PASSWORD"] or None,
        "host": config["HOST"],
        "port": config["PORT"],
        "connect_timeout": 5,
        "autocommit": True,
    }


def recreate(name: str) -> None:
    """Drop and create the database on the primary, and wait until the replica has replayed
    both (checking the name alone could see the old database before its drop is replayed)."""
    with psycopg.connect(**_maintenance_conninfo("default")) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
        (target,) = conn.execute("SELECT pg_current_wal_lsn()").fetchone()
    deadline = time.monotonic() + 30
    with psycopg.connect(**_maintenance_conninfo("replica")) as conn:
        while not conn.execute(
            "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]
        ).fetchone()[0]:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the replica did not replay the creation of {name}")
            time.sleep(0.05)


def wait_for_replica_catch_up(timeout: float = 10.0) -> None:
    """Until the replica has replayed everything the primary has written so far."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        (target,) = cursor.fetchone()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connections["replica"].cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
            if cursor.fetchone()[0]:
                return
        time.sleep(0.05)
    raise RuntimeError("the replica did not catch up")


def wait_for_replica_back(timeout: float = 60.0) -> None:
    """Until the replica, started again, answers as a standby."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if in_recovery("replica"):
                return
        except Exception:
            connections["replica"].close()
        time.sleep(0.2)
    raise RuntimeError("the replica did not come back")


@contextmanager
def replica_stopped() -> Iterator[None]:
    """The real replica stopped for the block (other test runs share it: keep it short), and
    started again and answering after it, whatever happens."""
    for alias in connections:
        connections[alias].close()
    services("replica-stop")
    try:
        yield
    finally:
        services("replica-start")
        wait_for_replica_back()
