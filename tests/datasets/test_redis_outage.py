"""Redis, the broker and the session store, stopped for real: what a client sees meanwhile,
and the jobs made around the outage, each run once Redis is back."""

from __future__ import annotations

import socket

import pytest
from django.test import Client

from tests.conftest import host_of, session_token_for
from tests.datasets.conftest import all_rows, jsonl, row, upload, wait_for_job
from tests.support import processes

pytestmark = pytest.mark.serial  # Redis is stopped here.

ROWS = 50
ROWS_FILE = [row(i) for i in range(ROWS)]


@pytest.fixture
def redis_outage():
    """Stops the real Redis when called; started again (and answering) whatever happens."""
    stopped = []

    def stop() -> None:
        processes.services("redis-stop")
        stopped.append(True)

    yield stop
    if stopped:
        processes.services("redis-start")


def test_an_import_submitted_while_redis_is_down_runs_once_it_is_back(
    tenant, editor, dataset, celery_worker, redis_outage
):
    session = Client(
        HTTP_HOST=host_of(tenant), HTTP_AUTHORIZATION=f"Bearer {session_token_for(tenant)}"
    )
    redis_outage()
    # Sessions live in Redis: a clear 503 to retry, not a 500. A signed token needs no Redis.
    refused = session.get("/api/v1/me/")
    assert refused.status_code == 503, refused.content
    assert refused.json()["code"] == "authentication_unavailable"
    assert editor.get("/api/v1/me/").status_code == 200

    response = upload(editor, dataset["id"], jsonl(ROWS_FILE), "r.jsonl", "jsonl")
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["status"] == "queued"

    processes.services("redis-start")
    celery_worker.recover()
    finished = wait_for_job(editor, job["id"], timeout=120)
    assert (finished["status"], finished["created"]) == ("succeeded", ROWS)
    assert sorted(r["external_id"] for r in all_rows(editor, dataset["id"])) == sorted(
        f"img-{i}" for i in range(ROWS)
    )
    assert session.get("/api/v1/me/").status_code == 200


def test_a_task_the_broker_held_when_redis_stopped_is_there_when_it_starts(
    tenant, editor, dataset, celery_worker, redis_outage
):
    session_worker = f"celery@{socket.gethostname()}"
    processes.consume("default", worker=session_worker, on=False)
    try:
        response = upload(editor, dataset["id"], jsonl(ROWS_FILE), "r.jsonl", "jsonl")
        assert response.status_code == 202, response.content
        redis_outage()
        processes.services("redis-start")
    finally:
        celery_worker.recover()
        processes.consume("default", worker=session_worker, on=True)
    finished = wait_for_job(editor, response.json()["id"], timeout=120)
    assert (finished["status"], finished["created"]) == ("succeeded", ROWS)
