"""Changes to a tenant's webhooks, each recorded in the audit log with its transaction."""

from __future__ import annotations

from django.db import transaction

from apps.webhooks import deliveries
from apps.webhooks.addresses import UrlRefused, check_url
from apps.webhooks.errors import WebhookErrorCode
from apps.webhooks.models import Webhook, WebhookDelivery
from apps.webhooks.signing import new_secret
from loupe.api.errors import ApiError
from tenants.audit.models import AuditAction
from tenants.audit.record import record


def check_webhook_url(url: str) -> None:
    """Raises ApiError(400) when a webhook may not send to `url` (addresses.py)."""
    try:
        check_url(url)
    except UrlRefused as exc:
        raise ApiError(
            status=400, code=exc.code, detail=exc.message, fields={"url": [exc.message]}
        ) from exc


def create_webhook(*, url: str, events: list[str], description: str = "", actor) -> Webhook:
    """A new webhook with a new secret (its `secret`: shown to the caller this once).
    Raises ApiError(400) for a URL it may not send to."""
    check_webhook_url(url)
    with transaction.atomic(using="default"):
        webhook = Webhook.objects.using("default").create(
            url=url,
            events=sorted(set(events)),
            description=description,
            secret=new_secret(),
            created_by=actor,
        )
        record(action=AuditAction.WEBHOOK_CREATED, target_id=webhook.pk, detail=_described(webhook))
    return webhook


def update_webhook(*, webhook: Webhook, actor, **changes) -> Webhook:
    """Change the webhook's url, events, description or `active`. Made active again, it
    starts its count of failures afresh. Raises ApiError(400) for a URL it may not send to."""
    if "url" in changes:
        check_webhook_url(changes["url"])
    if "events" in changes:
        changes["events"] = sorted(set(changes["events"]))
    if changes.get("active") is True and not webhook.active:
        changes |= {"disabled_reason": "", "failures_in_a_row": 0}
    elif changes.get("active") is False and webhook.active:
        changes["disabled_reason"] = "paused by an admin"
    for field, value in changes.items():
        setattr(webhook, field, value)
    with transaction.atomic(using="default"):
        webhook.save(using="default", update_fields=[*changes, "updated_at"])
        record(
            action=AuditAction.WEBHOOK_CHANGED,
            target_id=webhook.pk,
            detail=f"{_described(webhook)}: {', '.join(sorted(changes))}",
        )
    return webhook


def delete_webhook(*, webhook: Webhook, actor) -> None:
    """Delete the webhook and its deliveries' log; a delivery under way is not attempted again."""
    with transaction.atomic(using="default"):
        record(action=AuditAction.WEBHOOK_DELETED, target_id=webhook.pk, detail=_described(webhook))
        webhook.delete()


def ping_webhook(*, webhook: Webhook, actor) -> WebhookDelivery:
    """Send the webhook a `ping` delivery. Raises ApiError(409) when it is not active."""
    if not webhook.active:
        raise ApiError(
            status=409,
            code=WebhookErrorCode.NOT_ACTIVE,
            detail=f"Webhook {webhook.pk} is not active; set active to true first.",
        )
    return deliveries.ping(webhook=webhook)


def _described(webhook: Webhook) -> str:
    return f"{webhook.url} ({', '.join(webhook.events)})"
