"""A worker killed mid-import leaves the job resumable, and resuming duplicates nothing."""

import os
import signal
import socket
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connection, connections
from django_tenants.utils import tenant_context

from apps.datasets.import_runs import ImportInterrupted, run_import
from apps.datasets.imports import create_local_import
from apps.datasets.models import Annotation, DataRow, Dataset, ImportJob
from apps.jobs.leases import lock_key
from apps.projects.models import Project
from tests.datasets.conftest import jsonl, row, wait_for_job
from tests.support import processes


def test_running_a_finished_job_again_changes_nothing(tenant, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(jsonl([row(i) for i in range(5)]))
    with tenant_context(tenant):
        dataset = Dataset.objects.create(project=Project.objects.create(name="p"), name="d")
        job = run_import(
            job_id=create_local_import(dataset=dataset, format="jsonl", path=str(path)).pk
        )
        again = run_import(job_id=job.pk)
        assert (again.status, again.created, again.total) == ("succeeded", 5, 5)
        assert DataRow.objects.filter(dataset=dataset).count() == 5


def _end_other_database_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        )
        return cursor.fetchone()[0]


def _state_now(tenant, job_id: int) -> tuple[str, int, int]:
    """The job's status, the records it has committed and the rows its dataset holds, read on
    the primary in one statement (one snapshot: a batch commits its rows and its progress
    together)."""
    jobs, data_rows = ImportJob._meta.db_table, DataRow._meta.db_table
    with tenant_context(tenant), connections["default"].cursor() as cursor:
        cursor.execute(
            f"SELECT j.status, j.records_done, (SELECT count(*) FROM {data_rows} r"
            f" WHERE r.dataset_id = j.dataset_id) FROM {jobs} j WHERE j.id = %s",
            [job_id],
        )
        return cursor.fetchone()


def _assert_stopped_part_way(tenant, job_id: int, rows: int) -> None:
    """Read right after the worker was stopped: the job is running, with some of its rows
    committed and not all, so the kill landed mid-import."""
    status, committed, stored = _state_now(tenant, job_id)
    assert status == "running" and 0 < committed < rows, (status, committed, rows)
    assert stored == committed


def _zombie(pid: int) -> bool:
    """Dead, and waiting for its new parent to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _import_under_way(editor, dataset, tenant, settings, rows: int) -> dict:
    """A `rows`-line import from the tenant's folder, once its first batch has committed."""
    folder = Path(settings.IMPORT_ROOT) / tenant.schema_name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "many.jsonl").write_bytes(jsonl([row(i) for i in range(rows)]))
    job = editor.post(
        f"/api/v1/datasets/{dataset['id']}/imports/",
        {"format": "jsonl", "source_uri": "many.jsonl"},
        content_type="application/json",
    ).json()
    deadline = time.monotonic() + 60
    while (progress := editor.get(f"/api/v1/imports/{job['id']}/").json())["total"] == 0:
        assert time.monotonic() < deadline, progress
        time.sleep(0.05)
    return progress


def test_an_import_whose_pool_process_is_sigkilled_resumes_after_its_last_batch_every_row_once(
    tenant, editor, dataset, celery_worker, settings
):
    rows = 60_000
    job = _import_under_way(editor, dataset, tenant, settings, rows)

    # Both pool processes of the session worker: the one importing is among them. The
    # broker hands the task back at once (acknowledged late, rejected on a lost process).
    pool = processes.pool_children(celery_worker.process.pid)
    staging = [grandchild for child in pool for grandchild in processes.pool_children(child)]
    # The import's staging processes: a JSONL's, one a core (the worker's settings are ours).
    assert len(staging) == settings.IMPORT_PROCESSES >= 1, staging
    for child in pool:
        os.kill(child, signal.SIGKILL)
    _assert_stopped_part_way(tenant, job["id"], rows)
    # The staging processes died with their worker: none is left behind.
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() and not _zombie(pid) for pid in staging):
        assert time.monotonic() < deadline, "a staging process outlived its worker"
        time.sleep(0.05)

    finished = wait_for_job(editor, job["id"], timeout=180)
    # Nothing was read twice: the resumed attempt began after the last committed batch.
    assert (finished["status"], finished["created"], finished["total"]) == (
        "succeeded",
        rows,
        rows,
    )
    assert (finished["updated"], finished["unchanged"]) == (0, 0)
    with tenant_context(tenant):
        assert ImportJob.objects.get(pk=job["id"]).attempts == 2
        stored = DataRow.objects.filter(dataset_id=dataset["id"])
        assert stored.count() == rows
        assert stored.values("external_id").distinct().count() == rows
        assert Annotation.objects.filter(data_row__in=stored).count() == rows


def test_an_import_whose_database_session_dies_is_resumed_by_the_worker(
    tenant, editor, dataset, celery_worker, settings
):
    rows = 60_000
    job = _import_under_way(editor, dataset, tenant, settings, rows)

    assert _end_other_database_sessions() >= 1
    _assert_stopped_part_way(tenant, job["id"], rows)

    finished = wait_for_job(editor, job["id"], timeout=120)
    # Nothing was read twice: the resumed attempt began after the last committed batch.
    assert (finished["status"], finished["created"], finished["total"]) == (
        "succeeded",
        rows,
        rows,
    )
    assert (finished["updated"], finished["unchanged"]) == (0, 0)
    with tenant_context(tenant):
        stored = DataRow.objects.filter(dataset_id=dataset["id"])
        assert stored.count() == rows
        assert Annotation.objects.filter(data_row__in=stored).count() == rows


def test_a_job_whose_lock_another_session_holds_is_left_to_it_or_retried_when_resuming(
    tenant, tmp_path
):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(jsonl([row(0)]))
    with tenant_context(tenant):
        dataset = Dataset.objects.create(project=Project.objects.create(name="p"), name="d")
        job = create_local_import(dataset=dataset, format="jsonl", path=str(path))
        settings = connection.settings_dict
        with psycopg.connect(
            host=settings["HOST"],
            port=settings["PORT"],
            user=settings["USER"],
            dbname=settings["NAME"],
            autocommit=True,
        ) as other_session:
            other_session.execute("SELECT pg_advisory_lock(%s)", [lock_key("import", job.pk)])

            assert run_import(job_id=job.pk).status == "queued"
            with pytest.raises(ImportInterrupted):
                run_import(job_id=job.pk, resuming=True)
            # Released here, synchronously: a closed connection's backend may hold it a
            # moment longer, until the server has ended that session.
            other_session.execute("SELECT pg_advisory_unlock(%s)", [lock_key("import", job.pk)])

        assert run_import(job_id=job.pk, resuming=True).status == "succeeded"


def test_an_import_whose_worker_is_sigkilled_is_finished_by_another_worker_every_row_once(
    tenant, editor, dataset, celery_worker, settings, tmp_path
):
    rows = 60_000
    session_worker = f"celery@{socket.gethostname()}"
    processes.consume("default", worker=session_worker, on=False)
    try:
        with processes.celery_worker(
            tmp_path / "doomed.log", queues="default", name="doomed@%h", pool="prefork"
        ) as doomed:
            job = _import_under_way(editor, dataset, tenant, settings, rows)
            processes.kill_process_group(doomed.process)
        # No worker takes the default queue now: this is the job as the kill left it.
        _assert_stopped_part_way(tenant, job["id"], rows)
    finally:
        # The session worker is the one left: the sweep (sent by beat) resumes the job on it.
        processes.consume("default", worker=session_worker, on=True)

    finished = wait_for_job(editor, job["id"], timeout=180)
    # Nothing was read twice: the resumed attempt began after the last committed batch.
    assert (finished["status"], finished["created"], finished["total"]) == (
        "succeeded",
        rows,
        rows,
    )
    assert (finished["updated"], finished["unchanged"]) == (0, 0)
    with tenant_context(tenant):
        assert ImportJob.objects.get(pk=job["id"]).attempts == 2
        stored = DataRow.objects.filter(dataset_id=dataset["id"])
        assert stored.count() == rows
        assert Annotation.objects.filter(data_row__in=stored).count() == rows
