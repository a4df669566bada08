"""When a tenant or domain changes, however it changes (services, the operators' admin, the
shell): forget cached hosts, and end a deactivated tenant's API-key sessions."""

from __future__ import annotations

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
    forget_tenant_hosts(instance)
    if not instance.is_active:
        end_sessions_for_tenant(instance)
