"""Managing a tenant's members: invite, change role, remove. An owner is always left.

Each change is recorded in the tenant's audit log, in the transaction that makes it.

A member's sockets opened with a signed token join their member group: removing the member,
or changing their role, closes them (4401), and a client that reconnects is admitted as the
member now is, or not at all."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.http import Http404

from loupe.api.errors import ApiError
from tenants.audit.models import AuditAction
from tenants.audit.record import record
from tenants.errors import MemberErrorCode
from tenants.identity.api_keys import revoke_api_key
from tenants.models import ApiKey, Membership, Tenant, User
from tenants.realtime import publish
from tenants.roles import Role


def member_group_parts(user_id: int) -> tuple[str, str]:
    """The Channels group (after the schema) of the member's sockets opened with a token."""
    return ("member", str(user_id))


def _close_sockets_on_commit(membership: Membership) -> None:
    schema, parts = membership.tenant.schema_name, member_group_parts(membership.user_id)
    transaction.on_commit(lambda: publish(schema, *parts, event={}, handler="revoked"))


def check_may_grant(*, actor_role: Role, role: Role) -> None:
    """Nobody grants a role above their own (so only owners make owners)."""
    if not actor_role.at_least(role):
        raise ApiError(
            status=403,
            code=MemberErrorCode.ROLE_ABOVE_YOURS,
            detail=f"Your role ({actor_role}) cannot grant or change the role {role}.",
            fields={"role": ["above yours"]},
        )


def _lock_current(membership: Membership) -> Membership:
    """Call inside a transaction. Locks the tenant's row, so that changes to its members are
    serialised (two owners demoting each other at once: the second sees the first's change; a
    FOR UPDATE on count() would lock nothing), and returns the membership as it is now: the
    copy a request read before may be stale, its member made an owner meanwhile. Raises
    Http404 when the member was removed meanwhile."""
    Tenant.objects.select_for_update().filter(pk=membership.tenant_id).first()
    current = Membership.objects.select_related("user", "tenant").filter(pk=membership.pk).first()
    if current is None:
        raise Http404("The member was removed meanwhile.")
    return current


def _check_owner_left(membership: Membership) -> None:
    """Call under _lock_current, with the membership it returned."""
    if membership.role != Role.OWNER:
        return
    owners = Membership.objects.filter(tenant_id=membership.tenant_id, role=Role.OWNER)
    if owners.count() <= 1:
        raise ApiError(
            status=409,
            code=MemberErrorCode.LAST_OWNER,
            detail="A tenant keeps at least one owner; make another owner first.",
        )


def invite_member(*, tenant: Tenant, email: str, role: Role, actor_role: Role) -> Membership:
    """Add a member by e-mail, creating the user if unknown (they sign in later through the
    issuer). Raises ApiError 409 if already a member, 403 if the role is above the actor's."""
    check_may_grant(actor_role=actor_role, role=role)
    email = email.lower()
    try:
        with transaction.atomic():
            user = User.objects.filter(email=email).first() or User.objects.create_user(email)
            membership = Membership.objects.create(user=user, tenant=tenant, role=role)
            record(
                action=AuditAction.MEMBER_INVITED,
                target_id=membership.pk,
                detail=f"{email} as {role}",
                tenant=tenant,
            )
            return membership
    except IntegrityError as exc:
        raise ApiError(
            status=409, code=MemberErrorCode.ALREADY_MEMBER, detail=f"{email} is already a member."
        ) from exc


def change_role(*, membership: Membership, role: Role, actor_role: Role) -> Membership:
    """Raises ApiError 403 when the actor may not grant or take away the role, 409 when it
    would leave the tenant with no owner, Http404 when the member was removed meanwhile. The
    checks see the membership as it is once the tenant is locked, not as the request read it;
    returns it changed."""
    check_may_grant(actor_role=actor_role, role=role)
    with transaction.atomic():
        membership = _lock_current(membership)
        if membership.role == Role.OWNER:
            check_may_grant(actor_role=actor_role, role=Role.OWNER)
        if role != Role.OWNER:
            _check_owner_left(membership)
        old_role, membership.role = membership.role, role
        membership.save(update_fields=["role"])
        if old_role != role:
            record(
                action=AuditAction.MEMBER_ROLE_CHANGED,
                target_id=membership.pk,
                detail=f"{membership.user.email}: {old_role} → {role}",
                tenant=membership.tenant,
            )
        _close_sockets_on_commit(membership)
    return membership


def remove_member(*, membership: Membership, actor_role: Role) -> None:
    """Remove a member and revoke the API keys they created (their sessions end at once).
    Raises ApiError 403 when an admin removes an owner, 409 for the last owner, Http404 when
    the member was removed meanwhile (checked as in change_role)."""
    with transaction.atomic():
        membership = _lock_current(membership)
        if membership.role == Role.OWNER:
            check_may_grant(actor_role=actor_role, role=Role.OWNER)
        _check_owner_left(membership)
        keys = list(
            ApiKey.objects.select_related("tenant").filter(
                tenant_id=membership.tenant_id,
                created_by_id=membership.user_id,
                revoked_at__isnull=True,
            )
        )
        for api_key in keys:
            revoke_api_key(api_key=api_key, actor=None)
        record(
            action=AuditAction.MEMBER_REMOVED,
            target_id=membership.pk,
            detail=f"{membership.user.email} ({membership.role})",
            tenant=membership.tenant,
        )
        _close_sockets_on_commit(membership)
        membership.delete()
