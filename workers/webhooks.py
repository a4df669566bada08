"""Webhook deliveries, on the default queue: one attempt per task, the next one sent with
the delivery's backoff until it succeeds or its attempts are spent (apps/webhooks)."""

from __future__ import annotations

from apps.webhooks.deliveries import DELIVER_TASK, attempt_delivery
from loupe.celery import app


@app.task(name=DELIVER_TASK, bind=True, acks_late=True, max_retries=None)
def deliver_webhook(self, delivery_id: int) -> None:
    again_in = attempt_delivery(delivery_id=delivery_id)
    if again_in is not None:
        raise self.retry(countdown=again_in)
