"""Import jobs, on the default queue."""

from __future__ import annotations

from apps.datasets.imports import run_import as run_import_job
from loupe.celery import app


@app.task(name="workers.imports.run_import", acks_late=True)
def run_import(job_id: int) -> str:
    """Run or resume one import job; a lost worker's job is redelivered and resumes."""
    return run_import_job(job_id=job_id).status
