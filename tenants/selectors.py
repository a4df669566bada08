"""Reads of tenants, and of a tenant's members and API keys. From the primary: who may do
what must never lag behind a change just made."""

from __future__ import annotations

from django.db.models import QuerySet

from tenants.models import ApiKey, Membership, Tenant


def active_tenants() -> QuerySet[Tenant]:
    """Every active tenant (never the public schema's): what the periodic sweeps walk."""
    return Tenant.objects.using("default").filter(is_active=True).exclude(schema_name="public")


def memberships(*, tenant: Tenant) -> QuerySet[Membership]:
    return Membership.objects.using("default").select_related("user").filter(tenant=tenant)


def api_keys(*, tenant: Tenant) -> QuerySet[ApiKey]:
    return (
        ApiKey.objects.using("default").select_related("created_by", "tenant").filter(tenant=tenant)
    )
