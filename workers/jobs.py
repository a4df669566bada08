"""The job sweep, on the default queue: every kind of job whose worker was lost."""

from __future__ import annotations

from celery.signals import worker_ready
from django_tenants.utils import tenant_context

from apps.jobs.sweep import sweep_lost_jobs
from loupe.celery import app
from tenants.selectors import active_tenants


@app.task(name="workers.jobs.sweep_jobs")
def sweep_jobs() -> int:
    """Recover lost workers' jobs in every tenant; returns how many were recovered."""
    recovered = 0
    for tenant in active_tenants():
        with tenant_context(tenant):
            recovered += len(sweep_lost_jobs())
    return recovered


@worker_ready.connect
def _sweep_on_start(sender=None, **kwargs) -> None:
    """A worker that starts sweeps at once, rather than wait for beat's first tick: jobs
    whose heartbeat has gone stale by now are sent again without delay."""
    sweep_jobs.apply_async(queue="default")
