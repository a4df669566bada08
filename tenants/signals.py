"""When a tenant or domain changes, however it changes (services, the operators' admin, the
shell): forget cached hosts, and end a deactivated tenant's API-key sessions.

For a tenant, both once the change commits: forgotten earlier, a host could be cached again
from the row as it was before the commit, and a key traded meanwhile would get a session that
outlives the deactivation."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from tenants.hosts import forget_hosts, forget_tenant_hosts
from tenants.identity.sessions import end_sessions_for_tenant
from tenants.models import Domain, Tenant


@receiver([post_save, post_delete], sender=Domain)
def _domain_changed(sender, instance: Domain, **kwargs) -> None:
    forget_hosts(instance.domain)


@receiver(post_save, sender=Tenant)
def _tenant_changed(sender, instance: Tenant, **kwargs) -> None:
    transaction.on_commit(lambda: _after_tenant_changed(instance), using="default")


def _after_tenant_changed(tenant: Tenant) -> None:
    forget_tenant_hosts(tenant)
    if not tenant.is_active:
        end_sessions_for_tenant(tenant)
