"""Writing the audit log (tenants/audit/models.py)."""

from __future__ import annotations

from contextlib import nullcontext

from django.db import transaction
from django.db.transaction import TransactionManagementError
from django_tenants.utils import get_public_schema_name, tenant_context

from tenants.activation import active_schema
from tenants.audit.actor import current_actor
from tenants.audit.models import AuditAction, AuditEntry
from tenants.models import Tenant


def record(
    *, action: AuditAction, target_id: int, detail: str, tenant: Tenant | None = None
) -> AuditEntry:
    """Write one entry, by the current actor, in `tenant`'s schema (the active tenant's when
    None: an operator's action on a tenant names it). Call it inside the transaction that makes
    the change, so that the entry commits with the change and rolls back with it. Raises
    TransactionManagementError outside a transaction (an entry on its own could record what
    never happened) and RuntimeError when no tenant is named or active."""
    if not transaction.get_connection("default").in_atomic_block:
        raise TransactionManagementError("an audit entry is written in its action's transaction")
    schema = tenant.schema_name if tenant is not None else active_schema()
    if schema == get_public_schema_name():
        raise RuntimeError("an audit entry belongs to a tenant; none is named or active")
    actor = current_actor()
    entry = AuditEntry(
        action=action,
        actor_kind=actor.kind,
        actor_user_id=actor.user_id,
        actor_email=actor.email,
        actor_api_key_id=actor.api_key_id,
        actor_api_key_name=actor.api_key_name,
        client_address=actor.address[:64],
        target_type=action.target_type,
        target_id=target_id,
        detail=detail[:500],
    )
    switch = schema != active_schema()
    with tenant_context(tenant) if switch else nullcontext():
        entry.save(using="default")
    return entry


def counted(number: int, noun: str) -> str:
    """For details: "1 row", "2,048 rows"."""
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"
