"""Training runs, on the gpu queue: one run per device at a time (prefetch 1)."""

from __future__ import annotations

import multiprocessing

from celery.signals import worker_process_init

from loupe.celery import app


@app.task(name="workers.training.run_training", acks_late=True)
def run_training(job_id: int) -> str | None:
    """Run or resume one training run. A worker lost mid-run is found by the job sweep
    (its heartbeat goes stale) and the run is queued again to resume from its checkpoint."""
    # torch loads here, so only the workers that train pay for it (every worker imports
    # every task module).
    from workers.engines.trainer import train_run

    return train_run(job_id=job_id)


@worker_process_init.connect
def _allow_loader_processes(**kwargs) -> None:
    """Prefork pool processes are daemonic, and a daemonic process may not start children;
    a run's DataLoader workers need to. They are not left behind: each watches its parent
    and exits when it dies (torch's worker loop), SIGKILL included."""
    multiprocessing.current_process()._config["daemon"] = False
