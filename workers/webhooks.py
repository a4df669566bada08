"""Webhook deliveries, on the default queue: one attempt per task, the next one sent with
the delivery's backoff until it succeeds or its attempts are spent (apps/webhooks); and the
sweep that sends again those whose task was lost with a worker."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from apps.webhooks.deliveries import DELIVER_TASK, attempt_delivery, resend_overdue
from loupe.celery import app
from tenants.selectors import active_tenants


@app.task(name=DELIVER_TASK, bind=True, acks_late=True, max_retries=None)
def deliver_webhook(self, delivery_id: int) -> None:
    again_in = attempt_delivery(delivery_id=delivery_id)
    if again_in is not None:
        raise self.retry(countdown=again_in)


@app.task(name="workers.webhooks.sweep_deliveries")
def sweep_deliveries() -> int:
    """Every WEBHOOK_SWEEP_SECONDS (beat): in every tenant, the pending deliveries whose
    attempt is overdue, sent again; returns how many."""
    sent = 0
    for tenant in active_tenants():
        with tenant_context(tenant):
            sent += resend_overdue()
    return sent
