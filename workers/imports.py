"""Import jobs, on the default queue."""

from __future__ import annotations

from apps.datasets.import_runs import ImportInterrupted, fail_interrupted_import
from apps.datasets.import_runs import run_import as run_import_job
from loupe.celery import app

# A lost database connection is retried after 2, 4, 8, ... seconds (at most 2 minutes
# apart): about six minutes in all, long enough for a primary to restart or fail over.
MAX_RETRIES = 8


def retry_delay(retries: int) -> int:
    return min(2 ** (retries + 1), 120)


@app.task(bind=True, name="workers.imports.run_import", acks_late=True, max_retries=MAX_RETRIES)
def run_import(self, job_id: int) -> str:
    """Run or resume one import job. A lost worker's job is redelivered and resumes; one
    whose database connection was lost is resumed after a delay, failed once retries run
    out."""
    try:
        return run_import_job(job_id=job_id, resuming=self.request.retries > 0).status
    except ImportInterrupted as exc:
        if self.request.retries >= self.max_retries:
            return fail_interrupted_import(job_id=job_id, reason=str(exc)).status
        raise self.retry(exc=exc, countdown=retry_delay(self.request.retries)) from exc
