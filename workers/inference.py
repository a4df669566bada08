"""Inference runs, on the gpu queue beside training (one job per device at a time)."""

from __future__ import annotations

from loupe.celery import app


@app.task(name="workers.inference.run_inference", acks_late=True)
def run_inference(job_id: int) -> str | None:
    """Run or resume one inference run. A worker lost mid-run is found by the job sweep and
    the run is queued again to resume after its last committed chunk."""
    # torch loads here, so only the workers that run models pay for it.
    from workers.engines.inference import infer_run

    return infer_run(job_id=job_id)
