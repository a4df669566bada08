"""Provisioning and lifecycle of tenants."""

from __future__ import annotations

import re

from django.conf import settings
from django.db import connections, transaction
from django_tenants.utils import schema_exists

from loupe.db import last_write
from tenants.audit.models import AuditAction
from tenants.audit.record import record
from tenants.errors import ProvisioningError, TenantErrorCode
from tenants.models import Domain, Membership, Tenant, User
from tenants.roles import Role
from tenants.schemas import clone_template

_SLUG = re.compile(r"^[a-z][a-z0-9-]{1,48}[a-z0-9]$")
_RESERVED = {"public", "www", "admin", "api", "template", "information-schema"}


def schema_name_for(slug: str) -> str:
    return slug.replace("-", "_")


def check_slug(slug: str) -> None:
    if not _SLUG.match(slug) or "--" in slug:
        raise ProvisioningError(
            TenantErrorCode.INVALID_SLUG,
            f"slug {slug!r} must be 3-50 characters of lowercase letters, digits and single "
            "hyphens, starting with a letter",
        )
    schema = schema_name_for(slug)
    if slug in _RESERVED or schema == settings.TENANT_BASE_SCHEMA or schema.startswith("pg_"):
        raise ProvisioningError(TenantErrorCode.INVALID_SLUG, f"slug {slug!r} is reserved")


def create_tenant(*, slug: str, name: str, domain: str, owner_email: str) -> Tenant:
    """Provision a tenant: its row, primary domain, owner membership and schema.

    The schema is cloned from the migrated template schema (tenants.schemas), so provisioning
    takes well under a second however many migrations exist. All or nothing: one transaction
    covers the rows and the schema. Raises ProvisioningError for a bad or taken slug or domain
    (or a slug whose schema a deleted tenant left).
    """
    check_slug(slug)
    domain = domain.strip().lower()
    with transaction.atomic():
        if Tenant.objects.filter(slug=slug).exists():
            raise ProvisioningError(TenantErrorCode.SLUG_TAKEN, f"tenant {slug!r} exists")
        if Domain.objects.filter(domain=domain).exists():
            raise ProvisioningError(TenantErrorCode.DOMAIN_TAKEN, f"domain {domain!r} is taken")
        if schema_exists(schema_name_for(slug)):  # left by a deleted tenant: never reused
            raise ProvisioningError(
                TenantErrorCode.SLUG_TAKEN,
                f"schema {schema_name_for(slug)!r} of a deleted tenant remains: drop it, or "
                "choose another slug",
            )
        tenant = Tenant.objects.create(schema_name=schema_name_for(slug), slug=slug, name=name)
        Domain.objects.create(domain=domain, tenant=tenant, is_primary=True)
        owner = User.objects.filter(email=owner_email.lower()).first()
        if owner is None:
            owner = User.objects.create_user(owner_email)
        Membership.objects.create(user=owner, tenant=tenant, role=Role.OWNER)
        clone_template(tenant.schema_name)
    # Its members' first requests read from the primary until the replica has the schema.
    last_write.remember_write(tenant.schema_name, last_write.EVERYONE)
    # A database session that has cloned schemas keeps catalog caches that make each further
    # clone slower (0.2 s growing past 2 s after a hundred); a fresh session stays flat.
    if not connections["default"].in_atomic_block:
        connections["default"].close()
    return tenant


def set_tenant_active(*, tenant: Tenant, active: bool) -> Tenant:
    """Activate or deactivate a tenant, and record it in the tenant's own audit log, in one
    transaction; a tenant already so is left alone, and nothing is recorded. A deactivated
    tenant's endpoints answer 403 once it commits (tenants.signals then forgets its cached
    hosts and ends its API-key sessions)."""
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().only("is_active").get(pk=tenant.pk)
        changed = locked.is_active != active
        tenant.is_active = active
        if changed:
            tenant.save(update_fields=["is_active"])
            record(
                action=AuditAction.TENANT_ACTIVATED if active else AuditAction.TENANT_DEACTIVATED,
                target_id=tenant.pk,
                detail=f"{tenant.name} ({tenant.slug})",
                tenant=tenant,
            )
    return tenant


def ensure_public_tenant(*, domains: list[str]) -> Tenant:
    """The public tenant and the hosts that reach it (idempotent)."""
    with transaction.atomic():
        public, _ = Tenant.objects.get_or_create(
            schema_name=settings.PUBLIC_SCHEMA_NAME,
            defaults={"slug": "public", "name": "Loupe"},
        )
        for index, host in enumerate(domains):
            Domain.objects.get_or_create(
                domain=host, defaults={"tenant": public, "is_primary": index == 0}
            )
    return public


def rename_tenant(*, tenant: Tenant, name: str) -> Tenant:
    """Change the tenant's display name (its slug, schema and hosts stay). `tenant` may be a
    request's, rebuilt from the host cache and never saved as such: the stored row changes."""
    stored = Tenant.objects.using("default").get(pk=tenant.pk)
    stored.name = name
    stored.save(update_fields=["name"])
    return stored
