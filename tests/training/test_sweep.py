"""The job sweep, through its service: a run whose heartbeat is stale and whose lease is free
is queued again, cancelled if it was being cancelled, or failed once its attempts are spent;
a run whose worker still holds its lease is left alone, however old its heartbeat."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.datasets.models import Dataset, ImportJob
from apps.jobs.leases import lock_key
from apps.jobs.models import JobEvent
from apps.jobs.sweep import sweep_lost_jobs
from apps.projects.models import Project
from apps.slices.models import Slice, SliceSnapshot
from apps.training.models import KIND, TrainingRun


def _another_session() -> psycopg.Connection:
    config = settings.DATABASES["default"]
    return psycopg.connect(
        dbname=config["NAME"], user=config["USER"], password=config["PASSWORD"] or None,
        host=config["HOST"], port=config["PORT"], autocommit=True,
    )  # fmt: skip


@pytest.fixture
def stale_run(tenant):
    def make(status: str, attempts: int) -> TrainingRun:
        with tenant_context(tenant):
            project = Project.objects.create(name=f"{status}-{attempts}")
            dataset = Dataset.objects.create(project=project, name="d")
            slice = Slice.objects.create(dataset=dataset, name="s")
            snapshot = SliceSnapshot.objects.create(slice=slice, number=1, row_count=1)
            return TrainingRun.objects.create(
                name="lost", spec="small_cnn", slice=slice, snapshot=snapshot, model_name="m",
                status=status, attempts=attempts,
                heartbeat_at=timezone.now() - timedelta(minutes=5),
            )  # fmt: skip

    return make


def _after_sweep(tenant, run: TrainingRun) -> tuple[str, str, list[str]]:
    with tenant_context(tenant):
        run.refresh_from_db()
        events = JobEvent.objects.filter(kind=KIND, job_id=run.pk).order_by("seq")
        return run.status, run.error, [e.type for e in events]


@pytest.mark.parametrize(
    ("status", "attempts", "outcome", "event"),
    [
        ("running", 1, "queued", "run.requeued"),
        ("cancelling", 1, "cancelled", "run.cancelled"),
        ("running", 3, "failed", "run.failed"),
    ],
)
def test_a_lost_workers_run_is_recovered(tenant, stale_run, status, attempts, outcome, event):
    run = stale_run(status, attempts)
    with tenant_context(tenant):
        recovered = sweep_lost_jobs()
    expected = "requeued" if outcome == "queued" else outcome
    assert [(r.job_id, r.outcome) for r in recovered] == [(run.pk, expected)]
    now, error, events = _after_sweep(tenant, run)
    assert (now, events) == (outcome, [event])
    assert error.startswith("worker_lost: ") == (outcome == "failed")


def test_a_run_whose_lease_is_held_elsewhere_is_left_to_its_worker(tenant, stale_run):
    run = stale_run("running", 1)
    with tenant_context(tenant):
        key = lock_key(KIND, run.pk)
    # A worker alive but slow to beat: its own database session holds the lease.
    with _another_session() as worker:
        worker.execute("SELECT pg_advisory_lock(%s)", [key])
        with tenant_context(tenant):
            assert sweep_lost_jobs() == []
        assert _after_sweep(tenant, run)[::2] == ("running", [])


@pytest.mark.parametrize(("attempts", "outcome"), [(1, "requeued"), (3, "failed")])
def test_a_lost_workers_import_is_sent_again_or_failed_once_its_attempts_are_spent(
    tenant, attempts, outcome
):
    with tenant_context(tenant):
        dataset = Dataset.objects.create(project=Project.objects.create(name="i"), name="d")
        job = ImportJob.objects.create(
            dataset=dataset, format="jsonl", file_name="x", status="running", attempts=attempts,
            records_done=5000, heartbeat_at=timezone.now() - timedelta(minutes=5),
        )  # fmt: skip
        recovered = sweep_lost_jobs()
        job.refresh_from_db()
    assert [(r.kind, r.job_id, r.outcome) for r in recovered] == [("import", job.pk, outcome)]
    if outcome == "failed":
        assert job.status == "failed"
        assert job.detail.startswith(
            "worker_lost: the import's worker was lost 3 times, after 5000"
        )
    else:  # still running: the task sent again resumes after its last committed batch
        assert job.status == "running" and job.heartbeat_at > timezone.now() - timedelta(minutes=1)
