"""Managing a tenant's members: invite, change role, remove. An owner is always left."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from loupe.api.errors import ApiError
from tenants.errors import MemberErrorCode
from tenants.identity.api_keys import revoke_api_key
from tenants.models import ApiKey, Membership, Tenant, User
from tenants.roles import Role


def check_may_grant(*, actor_role: Role, role: Role) -> None:
    """Nobody grants a role above their own (so only owners make owners)."""
    if not actor_role.at_least(role):
        raise ApiError(
            status=403,
            code=MemberErrorCode.ROLE_ABOVE_YOURS,
            detail=f"Your role ({actor_role}) cannot grant or change the role {role}.",
            fields={"role": ["above yours"]},
        )


def _check_owner_left(membership: Membership) -> None:
    """Call inside a transaction. Locks the tenant's row, so two owners demoting each other
    at once are serialised and the second sees the first's change (a FOR UPDATE on count()
    would lock nothing)."""
    if membership.role != Role.OWNER:
        return
    Tenant.objects.select_for_update().filter(pk=membership.tenant_id).first()
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
            return Membership.objects.create(user=user, tenant=tenant, role=role)
    except IntegrityError as exc:
        raise ApiError(
            status=409, code=MemberErrorCode.ALREADY_MEMBER, detail=f"{email} is already a member."
        ) from exc


def change_role(*, membership: Membership, role: Role, actor_role: Role) -> Membership:
    """Raises ApiError 403 when the actor may not grant or take away the role, 409 when it
    would leave the tenant with no owner."""
    check_may_grant(actor_role=actor_role, role=role)
    if membership.role == Role.OWNER:
        check_may_grant(actor_role=actor_role, role=Role.OWNER)
    with transaction.atomic():
        if role != Role.OWNER:
            _check_owner_left(membership)
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def remove_member(*, membership: Membership, actor_role: Role) -> None:
    """Remove a member and revoke the API keys they created (their sessions end at once).
    Raises ApiError 403 when an admin removes an owner, 409 for the last owner."""
    if membership.role == Role.OWNER:
        check_may_grant(actor_role=actor_role, role=Role.OWNER)
    with transaction.atomic():
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
        membership.delete()
