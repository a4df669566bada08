"""Prediction imports, on the default queue."""

from __future__ import annotations

from apps.predictions.files.runs import run_prediction_import as run_import_job
from loupe.celery import app


@app.task(name="workers.prediction_imports.run_prediction_import", acks_late=True)
def run_prediction_import(job_id: int) -> str | None:
    """Run or resume one prediction import. A worker lost mid-file is found by the job
    sweep (its heartbeat goes stale) and the import is sent again, to resume after its last
    committed batch."""
    return run_import_job(job_id=job_id)
