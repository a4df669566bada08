"""Reads of the active tenant's audit log."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from tenants.audit.models import AuditAction, AuditEntry


def entries(
    *, action: AuditAction | None = None, since: datetime | None = None
) -> QuerySet[AuditEntry]:
    """Newest first; only `action`'s, only those at or after `since`, when given."""
    queryset = AuditEntry.objects.order_by("-created_at", "-id")
    if action is not None:
        queryset = queryset.filter(action=action)
    if since is not None:
        queryset = queryset.filter(created_at__gte=since)
    return queryset
