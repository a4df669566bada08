"""A worker killed mid-import leaves the job resumable, and resuming duplicates nothing."""

import socket
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from django.test import override_settings
from django_tenants.utils import tenant_context

from apps.datasets.import_runs import ImportInterrupted, fail_interrupted_import, run_import
from apps.datasets.imports import create_local_import
from apps.datasets.models import Annotation, DataRow, Dataset, ImportJob
from apps.jobs.leases import lock_key
from apps.projects.models import Project
from loupe.celery import app
from tests.datasets.conftest import jsonl, row, wait_for_job
from tests.support import processes


class WorkerKilled(BaseException):
    """Stands for the process dying: nothing after it runs, no handler catches it."""


@override_settings(IMPORT_BATCH_SIZE=100)
def test_a_killed_import_resumes_and_completes_without_duplicates(tenant, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(jsonl([row(i) for i in range(450)]))
    with tenant_context(tenant):
        dataset = Dataset.objects.create(project=Project.objects.create(name="p"), name="d")
        job = create_local_import(dataset=dataset, format="jsonl", path=str(path))

        def die_after_two_batches(progress):
            if progress.records_done >= 200:
                raise WorkerKilled

        with pytest.raises(WorkerKilled):
            run_import(job_id=job.pk, on_progress=die_after_two_batches)
        interrupted = ImportJob.objects.get(pk=job.pk)
        assert (interrupted.status, interrupted.records_done) == ("running", 200)
        assert DataRow.objects.filter(dataset=dataset).count() == 200

        finished = run_import(job_id=job.pk)
        assert (finished.status, finished.created, finished.total) == ("succeeded", 450, 450)
        assert DataRow.objects.filter(dataset=dataset).count() == 450
        assert Annotation.objects.filter(data_row__dataset=dataset).count() == 450


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


def test_an_import_whose_database_session_dies_is_resumed_by_the_worker(
    tenant, editor, dataset, celery_worker, settings
):
    rows = 60_000
    job = progress = _import_under_way(editor, dataset, tenant, settings, rows)
    assert progress["status"] == "running" and progress["total"] < rows

    assert _end_other_database_sessions() >= 1

    finished = wait_for_job(editor, job["id"], timeout=120)
    assert (finished["status"], finished["created"], finished["total"]) == (
        "succeeded",
        rows,
        rows,
    )
    with tenant_context(tenant):
        stored = DataRow.objects.filter(dataset_id=dataset["id"])
        assert stored.count() == rows
        assert Annotation.objects.filter(data_row__in=stored).count() == rows


@override_settings(IMPORT_BATCH_SIZE=100)
def test_an_import_the_database_keeps_failing_ends_failed_saying_how_far_it_got(tenant, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(jsonl([row(i) for i in range(250)]))
    with tenant_context(tenant):
        dataset = Dataset.objects.create(project=Project.objects.create(name="p"), name="d")
        job = create_local_import(dataset=dataset, format="jsonl", path=str(path))
        with pytest.raises(WorkerKilled):
            run_import(job_id=job.pk, on_progress=lambda progress: _die())

        failed = fail_interrupted_import(job_id=job.pk, reason="OperationalError: gone")

        assert (failed.status, failed.records_done) == ("failed", 100)
        assert failed.detail.startswith("database_unavailable: the import stopped after 100")
        assert run_import(job_id=job.pk).status == "failed"


def _die():
    raise WorkerKilled


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

        assert run_import(job_id=job.pk, resuming=True).status == "succeeded"


def test_an_import_whose_worker_is_sigkilled_is_finished_by_another_worker_every_row_once(
    tenant, editor, dataset, celery_worker, beat, settings, tmp_path
):
    rows = 60_000
    session_worker = f"celery@{socket.gethostname()}"
    app.control.cancel_consumer("default", destination=[session_worker], reply=True, timeout=5)
    try:
        with processes.celery_worker(
            tmp_path / "doomed.log", queues="default", name="doomed@%h", pool="prefork"
        ) as doomed:
            job = progress = _import_under_way(editor, dataset, tenant, settings, rows)
            processes.kill_process_group(doomed.process)
        assert progress["status"] == "running" and progress["total"] < rows
    finally:
        # The session worker is the one left: the sweep (sent by beat) resumes the job on it.
        app.control.add_consumer("default", destination=[session_worker], reply=True, timeout=5)

    finished = wait_for_job(editor, job["id"], timeout=180)
    assert (finished["status"], finished["created"], finished["total"]) == (
        "succeeded",
        rows,
        rows,
    )
    with tenant_context(tenant):
        assert ImportJob.objects.get(pk=job["id"]).attempts == 2
        stored = DataRow.objects.filter(dataset_id=dataset["id"])
        assert stored.count() == rows
        assert Annotation.objects.filter(data_row__in=stored).count() == rows
