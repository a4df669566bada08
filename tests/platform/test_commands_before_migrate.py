"""Commands a newcomer runs too early, as processes: a database not migrated yet, or not
started, is named with what to do, never answered with a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest

from tests.support import database
from tests.support.processes import ROOT, free_port, process_env

COMMANDS = [
    ["create_tenant", "--slug", "acme", "--name", "Acme", "--domain", "a.localhost", "--owner",
     "alice@example.com"],
    ["import_dataset", "--tenant", "acme", "--dataset", "1", "rows.jsonl"],
    ["demo_data", "--tenant", "acme"],
    ["check_workers", "--tenant", "acme"],
    ["issue_token", "--tenant", "acme", "--email", "alice@example.com"],
]  # fmt: skip


def _url_of(name: str) -> str:
    return os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{name}"


def _manage(args: list[str], database_url: str) -> subprocess.CompletedProcess:
    env = process_env() | {"DATABASE_URL": database_url, "DATABASE_REPLICA_URL": database_url}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def empty_database() -> str:
    name = os.environ["DATABASE_URL"].rsplit("/", 1)[-1] + "_empty"
    database.recreate(name)
    yield _url_of(name)
    with psycopg.connect(_url_of("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("args", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_a_command_before_the_first_migrate_says_to_migrate(empty_database, args):
    done = _manage(args, empty_database)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "run `make run` (or `manage.py migrate_schemas`) first" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_command_without_a_database_says_to_start_it():
    unreachable = os.environ["DATABASE_URL"].rsplit("@", 1)[0] + f"@127.0.0.1:{free_port()}/x"
    done = _manage(COMMANDS[0], unreachable)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "the database cannot be reached" in done.stderr and "make services" in done.stderr
    assert "Traceback" not in done.stderr
