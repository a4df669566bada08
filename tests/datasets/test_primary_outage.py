"""The real primary stopped mid-import, through scripts/services.sh. Back soon (a restart),
the task's own retries resume the import after its last committed batch, every row once.
Down for longer than its retries last, the job ends failed saying how far it got, and
importing the file again finishes it, the rows already stored coming back `unchanged`."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connections
from django_tenants.utils import tenant_context

from apps.datasets.models import DataRow, ImportJob
from tests.datasets.conftest import jsonl, row, wait_for_job
from tests.support import processes

pytestmark = pytest.mark.serial  # The primary is stopped here.

# Enough that a stop sent once the first batch has committed lands part way.
ROWS = 200_000


class PrimaryOutage:
    """The real primary, stopped and started again by scripts/services.sh."""

    def __init__(self) -> None:
        self.stopped = False

    def stop(self) -> None:
        processes.services("primary-stop")
        self.stopped = True

    def start(self) -> None:
        """Once it returns, the replica streams from the primary again."""
        processes.services("primary-start")
        self.stopped = False
        connections["default"].close()  # the test's own session ended with the old server


@pytest.fixture
def primary_outage() -> Iterator[PrimaryOutage]:
    """Started again, whatever happens (request it last: it is then torn down first)."""
    outage = PrimaryOutage()
    yield outage
    if outage.stopped:
        outage.start()


@contextmanager
def _only_worker(folder: Path, **env: str) -> Iterator[processes.RunningProcess]:
    """A worker of its own on the default queue, the session's set aside meanwhile. The job
    sweep resends a job whose heartbeat went stale, as it does during an outage; this worker
    (the one that sweeps now) waits ten minutes for one, so the task's own retries are the
    only way back."""
    session_worker = f"celery@{socket.gethostname()}"
    processes.consume("default", worker=session_worker, on=False)
    try:
        with processes.celery_worker(
            folder / "outage-worker.log",
            queues="default",
            name="outage@%h",
            pool="prefork",
            concurrency=1,
            env={"JOB_HEARTBEAT_TIMEOUT_SECONDS": "600", **env},
        ) as worker:
            yield worker
    finally:
        processes.consume("default", worker=session_worker, on=True)


def _source(tenant, settings) -> str:
    folder = Path(settings.IMPORT_ROOT) / tenant.schema_name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "many.jsonl").write_bytes(jsonl([row(i) for i in range(ROWS)]))
    return "many.jsonl"


def _import(editor, dataset: dict, source: str) -> dict:
    response = editor.post(
        f"/api/v1/datasets/{dataset['id']}/imports/",
        {"format": "jsonl", "source_uri": source},
        content_type="application/json",
    )
    assert response.status_code == 202, response.content
    return response.json()


def _first_batch_committed(editor, job: dict) -> None:
    deadline = time.monotonic() + 60
    while (progress := editor.get(f"/api/v1/imports/{job['id']}/").json())["total"] == 0:
        assert time.monotonic() < deadline, progress
        time.sleep(0.05)


def _state_on_replica(tenant, job_id: int) -> tuple[str, int, int]:
    """With the primary stopped: the job's status, its committed records and its dataset's
    rows, in one snapshot of the replica, once it has replayed all it received (a primary
    shutting down sends its standby every last record first)."""
    jobs, data_rows = ImportJob._meta.db_table, DataRow._meta.db_table
    with tenant_context(tenant), connections["replica"].cursor() as cursor:
        deadline = time.monotonic() + 30
        while True:
            cursor.execute("SELECT pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn()")
            if cursor.fetchone()[0]:
                break
            assert time.monotonic() < deadline, "the replica did not replay what it received"
            time.sleep(0.05)
        cursor.execute(
            f"SELECT j.status, j.records_done, (SELECT count(*) FROM {data_rows} r"
            f" WHERE r.dataset_id = j.dataset_id) FROM {jobs} j WHERE j.id = %s",
            [job_id],
        )
        return cursor.fetchone()


def _stopped_part_way(tenant, job_id: int) -> int:
    status, committed, stored = _state_on_replica(tenant, job_id)
    assert status == "running" and 0 < committed < ROWS, (status, committed)
    assert stored == committed
    return committed


def _until_logged(worker: processes.RunningProcess, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in worker.log_text():
        assert time.monotonic() < deadline, f"the worker never logged {text!r}"
        time.sleep(0.1)


def _stored_once(tenant, dataset: dict) -> tuple[int, int]:
    with tenant_context(tenant):
        stored = DataRow.objects.filter(dataset_id=dataset["id"])
        return stored.count(), stored.values("external_id").distinct().count()


@pytest.mark.timeout(600)
def test_an_import_whose_primary_restarts_resumes_through_its_retry_every_row_once(
    tenant, editor, dataset, celery_worker, settings, tmp_path, primary_outage
):
    source = _source(tenant, settings)
    with _only_worker(tmp_path):
        job = _import(editor, dataset, source)
        _first_batch_committed(editor, job)
        primary_outage.stop()
        _stopped_part_way(tenant, job["id"])
        primary_outage.start()
        finished = wait_for_job(editor, job["id"], timeout=300)

    # Nothing was read twice: the resumed attempt began after the last committed batch.
    assert (finished["status"], finished["created"], finished["total"]) == (
        "succeeded",
        ROWS,
        ROWS,
    )
    assert (finished["updated"], finished["unchanged"]) == (0, 0)
    with tenant_context(tenant):
        # One worker's attempt: resumed by the task's retry, not resent by the job sweep.
        assert ImportJob.objects.get(pk=job["id"]).attempts == 1
    assert _stored_once(tenant, dataset) == (ROWS, ROWS)


@pytest.mark.timeout(600)
def test_an_import_whose_primary_stays_down_past_its_retries_fails_and_importing_again_finishes_it(
    tenant, editor, dataset, celery_worker, settings, tmp_path, primary_outage
):
    source = _source(tenant, settings)
    with _only_worker(tmp_path, IMPORT_DB_RETRIES="2", IMPORT_DB_RETRY_MAX_SECONDS="1") as worker:
        job = _import(editor, dataset, source)
        _first_batch_committed(editor, job)
        primary_outage.stop()
        committed = _stopped_part_way(tenant, job["id"])
        # Its two retries spent (each an ImportInterrupted), the task now retries recording
        # the failure, which the database's absence refuses.
        _until_logged(worker, "retry: Retry in 1s: OperationalError(")
        primary_outage.start()
        failed = wait_for_job(editor, job["id"], timeout=120)
        again = wait_for_job(editor, _import(editor, dataset, source)["id"], timeout=300)

    assert failed["status"] == "failed"
    assert failed["detail"].startswith(
        f"database_unavailable: the import stopped after {committed} records"
    )
    assert failed["detail"].endswith("start the import again to finish it")
    assert (again["status"], again["created"], again["updated"], again["unchanged"]) == (
        "succeeded",
        ROWS - committed,
        0,
        committed,
    )
    assert _stored_once(tenant, dataset) == (ROWS, ROWS)
