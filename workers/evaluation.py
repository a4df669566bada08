"""Evaluations too large to answer at once, on the default queue (no torch: scikit-learn's
metrics and the COCO evaluator)."""

from __future__ import annotations

from apps.predictions.evaluations import run_evaluation as evaluate
from loupe.celery import app


@app.task(name="workers.evaluation.run_evaluation", acks_late=True)
def run_evaluation(job_id: int) -> str | None:
    """Run one evaluation. A worker lost mid-way is found by the job sweep and the
    evaluation is queued again (it starts over: its figures sum every row)."""
    return evaluate(job_id)
