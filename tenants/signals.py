"""When a tenant or domain changes, however it changes (services, the operators' admin, the
shell): forget cached hosts, and end a deactivated tenant's API-key sessions. When an admin
signs out: close the live pages' sockets their session opened.

For a tenant, both once the change commits: forgotten earlier, a host could be cached again
from the row as it was before the commit, and a key traded meanwhile would get a session that
outlives the deactivation."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django_tenants.utils import get_public_schema_name

from tenants.activation import active_schema
from tenants.hosts import forget_hosts, forget_tenant_hosts
from tenants.identity.browser_sessions import session_group_parts
from tenants.identity.sessions import end_sessions_for_tenant
from tenants.models import Domain, Tenant
from tenants.realtime import publish


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


@receiver(user_logged_out)
def _signed_out(sender, request, user, **kwargs) -> None:
    """The live pages' sockets of a session that signs out close (4401), as it ends."""
    key = request.session.session_key if request is not None else None
    schema = active_schema()
    if key and schema != get_public_schema_name():
        publish(schema, *session_group_parts(key), event={}, handler="revoked")
