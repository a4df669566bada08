"""Index maintenance, on the index queue: draining each tenant's outbox into Elasticsearch."""

from __future__ import annotations

from celery.signals import worker_ready
from django_tenants.utils import tenant_context
from elasticsearch import ApiError, TransportError

from loupe.celery import app
from search import outbox
from search.bulk import BulkFailed
from search.outbox import DrainBusy
from tenants.selectors import active_tenants


@app.task(
    name="workers.indexing.drain_outbox",
    autoretry_for=(TransportError, ApiError, BulkFailed, DrainBusy),
    retry_backoff=1,
    retry_backoff_max=30,
    max_retries=None,
)
def drain_outbox() -> int:
    """Drain the task's tenant's outbox. While Elasticsearch is down, or another drainer is at
    work, the entries stay and the task retries, backing off up to 30 s."""
    return outbox.drain()


@app.task(name="workers.indexing.sweep_outboxes")
def sweep_outboxes() -> int:
    """Queue a drain for every tenant whose outbox holds entries: the catch-all for drains
    lost with a worker, and for changes made by plain SQL. Returns how many were queued."""
    queued = 0
    for tenant in active_tenants():
        with tenant_context(tenant):
            if outbox.has_entries():
                outbox.request_drain()
                queued += 1
    return queued


@worker_ready.connect
def _sweep_on_start(sender=None, **kwargs) -> None:
    """A worker that starts queues a sweep, so drains lost with a dead worker resume."""
    sweep_outboxes.apply_async(queue="index")
