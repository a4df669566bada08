"""Deliveries: made when a job ends (in the transaction that ends it, so none is lost and
none is made for an end that rolled back), then attempted by a task on the default queue
until the receiver answers 2xx or the attempts are spent.

At least once: a receiver may see a delivery twice (a worker lost after sending), and tells
by its `Loupe-Delivery` id. Each attempt re-checks the URL's address and signs afresh. A
webhook whose deliveries fail WEBHOOK_DISABLE_AFTER_FAILURES times in a row is disabled.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.dispatch import receiver
from django.utils import timezone

from apps.jobs.selectors import job_summary
from apps.jobs.signals import job_finished
from apps.webhooks.addresses import UrlRefused, check_url
from apps.webhooks.errors import WebhookErrorCode
from apps.webhooks.models import PING, DeliveryStatus, Webhook, WebhookDelivery, WebhookEvent
from apps.webhooks.sending import Answer, post
from apps.webhooks.signing import SIGNATURE_HEADER, signature
from loupe.dispatch import enqueue, enqueue_on_commit

logger = logging.getLogger(__name__)

DELIVER_TASK = "workers.webhooks.deliver_webhook"
# A job's final status, as the event a webhook subscribes to.
_EVENT_OF_STATUS = {
    "succeeded": WebhookEvent.JOB_SUCCEEDED,
    "failed": WebhookEvent.JOB_FAILED,
    "partially_failed": WebhookEvent.JOB_FAILED,
    "cancelled": WebhookEvent.JOB_CANCELLED,
}


@receiver(job_finished)
def _job_finished(sender, *, job, kind: str, status: str, **kwargs) -> None:
    event = _EVENT_OF_STATUS[status]
    webhooks = list(
        Webhook.objects.using("default").filter(active=True, events__contains=[event.value])
    )
    if not webhooks:
        return
    body = {"job": job_summary(kind=kind, job_id=job.pk)}
    for webhook in webhooks:
        _make_delivery(webhook, event.value, body)


def ping(*, webhook: Webhook) -> WebhookDelivery:
    """A `ping` delivery to the webhook, whatever it subscribes to: how an admin checks the
    receiver. Raises nothing; a paused or disabled webhook is the caller's to refuse."""
    with transaction.atomic(using="default"):
        return _make_delivery(webhook, PING, {"webhook": webhook.pk})


def _make_delivery(webhook: Webhook, event: str, data: dict) -> WebhookDelivery:
    now = timezone.now()
    delivery = WebhookDelivery(webhook=webhook, event=event, next_attempt_at=now)
    delivery.payload = {
        "id": str(delivery.uuid),
        "event": event,
        "created_at": now.isoformat(),
        "tenant": connection.tenant.slug,
        **data,
    }
    delivery.save(using="default")
    enqueue_on_commit(DELIVER_TASK, kwargs={"delivery_id": delivery.pk}, queue="default")
    return delivery


def attempt_delivery(*, delivery_id: int) -> float | None:
    """Make the delivery's next attempt, if it is due and nothing else is making it; returns
    the seconds until the attempt after (None when the delivery has ended, or was not due)."""
    claimed = _claim(delivery_id)
    if claimed is None:
        return None
    delivery, webhook = claimed.delivery, claimed.delivery.webhook
    if not webhook.active:
        why = webhook.disabled_reason or "paused"
        error = f"{WebhookErrorCode.NOT_ACTIVE}: the webhook is not active ({why})"
        _end(claimed, DeliveryStatus.FAILED, {"error": error}, counts=False)
        return None
    try:
        target = check_url(webhook.url)
    except UrlRefused as exc:
        answer = Answer(None, "", f"{exc.code}: {exc.message}", 0)
        return _record(claimed, answer, retry=exc.code is WebhookErrorCode.URL_UNRESOLVABLE)
    body = json.dumps(delivery.payload, sort_keys=True, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Loupe-Webhooks/1",
        "Loupe-Event": delivery.event,
        "Loupe-Delivery": str(delivery.uuid),
        SIGNATURE_HEADER: signature(secret=webhook.secret, timestamp=int(time.time()), body=body),
    }
    answer = post(target, body=body, headers=headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
    return _record(claimed, answer, retry=True)


@dataclass(frozen=True)
class _Claimed:
    """A delivery held for one attempt: until `hold`, the time only this attempt wrote, and
    which each of its writes requires (a delivery deleted, or sent again by the sweep,
    meanwhile is left as it is)."""

    delivery: WebhookDelivery
    hold: datetime

    def write(self, **fields) -> bool:
        return bool(
            WebhookDelivery.objects.using("default")
            .filter(pk=self.delivery.pk, status=DeliveryStatus.PENDING, next_attempt_at=self.hold)
            .update(**fields)
        )


def _claim(delivery_id: int) -> _Claimed | None:
    """The delivery, held for this attempt (its next attempt moved past the attempt's end),
    if it is pending and due; None otherwise (ended, or another attempt holds it)."""
    now = timezone.now()
    # Past the attempt's longest (a name's lookup, then the POST, each within the timeout).
    hold = now + 3 * _timeout()
    claimed = (
        WebhookDelivery.objects.using("default")
        .filter(
            pk=delivery_id,
            status=DeliveryStatus.PENDING,
            next_attempt_at__lte=now + timedelta(seconds=1),
        )
        .update(next_attempt_at=hold)
    )
    if not claimed:
        return None
    delivery = (
        WebhookDelivery.objects.using("default")
        .select_related("webhook")
        .filter(pk=delivery_id)
        .first()
    )
    return _Claimed(delivery, hold) if delivery is not None else None


def _record(claimed: _Claimed, answer: Answer, *, retry: bool) -> float | None:
    attempts = claimed.delivery.attempts + 1
    fields = {
        "attempts": attempts,
        "response_status": answer.status,
        "response_body": answer.body,
        "error": answer.error,
        "duration_ms": answer.duration_ms,
    }
    if answer.succeeded:
        _end(claimed, DeliveryStatus.SUCCEEDED, fields)
        return None
    if retry and attempts < settings.WEBHOOK_MAX_ATTEMPTS:
        again_in = backoff(attempts)
        written = claimed.write(
            **fields, next_attempt_at=timezone.now() + timedelta(seconds=again_in)
        )
        return again_in if written else None
    _end(claimed, DeliveryStatus.FAILED, fields)
    return None


def backoff(attempts: int) -> float:
    """Seconds before the attempt after `attempts` failed ones: WEBHOOK_RETRY_SECONDS,
    doubling each time, at most WEBHOOK_RETRY_MAX_SECONDS."""
    return min(
        settings.WEBHOOK_RETRY_SECONDS * 2 ** (attempts - 1), settings.WEBHOOK_RETRY_MAX_SECONDS
    )


def _end(claimed: _Claimed, status: DeliveryStatus, fields: dict, *, counts: bool = True) -> None:
    """End the delivery. One that failed `counts` against its webhook (not when the webhook
    was not active), which is disabled once WEBHOOK_DISABLE_AFTER_FAILURES of them fail in a
    row; one that succeeded clears the count."""
    webhooks = Webhook.objects.using("default").filter(pk=claimed.delivery.webhook_id)
    with transaction.atomic(using="default"):
        ended = {"status": status, "finished_at": timezone.now(), "next_attempt_at": None}
        if not claimed.write(**fields, **ended):
            return
        if status == DeliveryStatus.SUCCEEDED:
            webhooks.update(failures_in_a_row=0)
            return
        if not counts:
            return
        webhooks.update(failures_in_a_row=F("failures_in_a_row") + 1)
        limit = settings.WEBHOOK_DISABLE_AFTER_FAILURES
        if webhooks.filter(active=True, failures_in_a_row__gte=limit).update(
            active=False,
            disabled_reason=(
                f"disabled after {limit} deliveries in a row failed every attempt; the last: "
                f"{_outcome(fields)}. Fix the receiver, then set active to true."
            ),
        ):
            logger.warning("webhook disabled", extra={"webhook": claimed.delivery.webhook_id})


def _timeout() -> timedelta:
    return timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS)


def _outcome(fields: dict) -> str:
    if fields.get("response_status") is not None:
        return f"HTTP {fields['response_status']}"
    return fields.get("error") or "no answer"


def resend_overdue() -> int:
    """Send again every pending delivery of the active tenant whose attempt is overdue by
    more than WEBHOOK_TIMEOUT_SECONDS (its task was lost with its worker, or never reached
    the broker); returns how many. Should its task arrive after all, the claim lets one of
    the two make the attempt."""
    now = timezone.now()
    overdue = WebhookDelivery.objects.using("default").filter(
        status=DeliveryStatus.PENDING, next_attempt_at__lt=now - _timeout()
    )
    sent = 0
    for delivery_id in list(overdue.values_list("pk", flat=True)[:500]):
        # Only what is still overdue now: an attempt may have claimed it meanwhile.
        if overdue.filter(pk=delivery_id).update(next_attempt_at=now):
            enqueue(DELIVER_TASK, kwargs={"delivery_id": delivery_id}, queue="default")
            sent += 1
    return sent
