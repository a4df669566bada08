"""Reads of the active tenant's webhooks and their deliveries."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from apps.webhooks.models import Webhook, WebhookDelivery


def webhooks() -> QuerySet[Webhook]:
    return Webhook.objects.select_related("created_by").order_by("-created_at", "-id")


def get_webhook(*, webhook_id: int) -> Webhook:
    return get_object_or_404(webhooks(), pk=webhook_id)


def deliveries(*, webhook: Webhook) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(webhook=webhook)
