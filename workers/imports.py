"""Import jobs, on the default queue."""

from __future__ import annotations

from django.conf import settings
from django.db import InterfaceError, OperationalError

from apps.datasets.import_runs import KIND, ImportInterrupted, fail_interrupted_import
from apps.datasets.import_runs import run_import as run_import_job
from apps.jobs.leases import lease
from loupe.celery import app


def retry_delay(retries: int) -> int:
    """2, 4, 8, ... seconds, at most IMPORT_DB_RETRY_MAX_SECONDS apart."""
    return min(2 ** (retries + 1), settings.IMPORT_DB_RETRY_MAX_SECONDS)


# No Celery limit on retries: the import's own (IMPORT_DB_RETRIES) is counted below, and
# recording the failure once they are spent waits for the database however long it takes.
@app.task(bind=True, name="workers.imports.run_import", acks_late=True, max_retries=None)
def run_import(self, job_id: int, gave_up: str = "") -> str:
    """Run or resume one import job. A lost worker's job is redelivered and resumes; one
    whose database connection was lost is resumed after a delay, and failed once
    IMPORT_DB_RETRIES run out (`gave_up` then says why, while the failure waits for the
    database to be recorded)."""
    if gave_up:
        return _fail(self, job_id, gave_up)
    try:
        return run_import_job(job_id=job_id, resuming=self.request.retries > 0).status
    except ImportInterrupted as exc:
        if self.request.retries >= settings.IMPORT_DB_RETRIES:
            return _fail(self, job_id, str(exc))
        raise self.retry(exc=exc, countdown=retry_delay(self.request.retries)) from exc


def _fail(task, job_id: int, reason: str) -> str:
    """Fail the job, saying how far it got. Retries run out while the database is still
    down, so this is retried every IMPORT_DB_RETRY_MAX_SECONDS until it is back. By then the
    job sweep may have resent the job (its heartbeat went stale meanwhile): a worker running
    it holds its lock, and is left to finish it."""
    try:
        with lease(KIND, job_id) as held:
            if not held:
                return "running"
            return fail_interrupted_import(job_id=job_id, reason=reason).status
    except (OperationalError, InterfaceError) as exc:
        raise task.retry(
            exc=exc,
            kwargs={"job_id": job_id, "gave_up": reason},
            countdown=settings.IMPORT_DB_RETRY_MAX_SECONDS,
        ) from exc
