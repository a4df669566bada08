"""A tenant's webhooks, and each delivery made to one: what was sent, and how it went."""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class WebhookEvent(models.TextChoices):
    JOB_SUCCEEDED = "job.succeeded"
    JOB_FAILED = "job.failed"  # an import that ended partially failed too
    JOB_CANCELLED = "job.cancelled"


# Sent when an admin asks (`POST /webhooks/<id>/ping/`), whatever the webhook subscribes to.
PING = "ping"


class Webhook(models.Model):
    url = models.URLField(max_length=2000)
    events = ArrayField(models.CharField(max_length=32, choices=WebhookEvent.choices))
    description = models.CharField(max_length=200, blank=True)
    # The key each delivery is signed with: shown once, when the webhook is made.
    secret = models.CharField(max_length=100)
    active = models.BooleanField(default=True)
    # Why it stopped: repeated failure, say (empty while active, or paused by an admin).
    disabled_reason = models.TextField(blank=True)
    # Deliveries that failed every attempt, since the last one that succeeded.
    failures_in_a_row = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"webhook {self.pk} ({self.url})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class WebhookDelivery(models.Model):
    """One event sent to one webhook, attempt after attempt until it is answered with a 2xx
    or its attempts are spent. The receiver tells a retried delivery by its `uuid`."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=32)
    payload = models.JSONField()
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt is due (null once the delivery has ended); the sweep sends again
    # a pending delivery whose attempt is long overdue (its task was lost with a worker).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The last attempt's answer: its HTTP status and the start of its body, or why it had none.
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["webhook", "-created_at"], name="delivery_webhook_newest_idx"),
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_pending_idx",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} to webhook {self.webhook_id} ({self.status})"
