"""From a verified token's claims to an Identity: the user (created on first sight), the
tenant the token names, and the user's membership there."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction

from tenants.identity.errors import AuthErrorCode, NotAdmitted
from tenants.identity.principal import Identity, Via
from tenants.identity.tokens import uses_dev_issuer
from tenants.models import Membership, Tenant, User
from tenants.roles import Role


def identity_from_claims(claims: dict) -> Identity:
    """Raises NotAdmitted when the token names no known tenant, or the user is no member
    and the claims may not grant a membership."""
    slug = claims.get(settings.OIDC_TENANT_CLAIM)
    if not isinstance(slug, str) or not slug:
        raise NotAdmitted(
            AuthErrorCode.UNKNOWN_TENANT, f"The token has no {settings.OIDC_TENANT_CLAIM!r} claim."
        )
    membership = _known_membership(slug, str(claims["sub"]))
    if membership is None:
        membership = _first_membership(slug, claims)
    else:
        _refuse_inactive(membership.user)
    return Identity(
        user=membership.user,
        tenant=membership.tenant,
        role=Role(membership.role),
        via=Via.JWT,
        expires_at=float(claims["exp"]),
    )


def _known_membership(slug: str, subject: str) -> Membership | None:
    """A member's every request: the tenant, the user and the membership in one query."""
    return (
        Membership.objects.using("default")
        .select_related("user", "tenant")
        .filter(tenant__slug=slug, user__subject=subject)
        .exclude(tenant__schema_name=settings.PUBLIC_SCHEMA_NAME)
        .first()
    )


def _first_membership(slug: str, claims: dict) -> Membership:
    """The membership of a user seen first, or first in this tenant: made from the claims
    where they may grant one."""
    tenant = Tenant.objects.using("default").filter(slug=slug).first()
    if tenant is None or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
        raise NotAdmitted(AuthErrorCode.UNKNOWN_TENANT, f"No tenant {slug!r} exists.")
    user = user_for_claims(claims)
    _refuse_inactive(user)
    membership = Membership.objects.using("default").filter(user=user, tenant=tenant).first()
    if membership is None:
        membership = _membership_from_claims(user, tenant, claims)
    membership.user, membership.tenant = user, tenant
    return membership


def _refuse_inactive(user: User) -> None:
    if not user.is_active:
        raise NotAdmitted(AuthErrorCode.USER_INACTIVE, "Your account is deactivated.")


def user_for_claims(claims: dict) -> User:
    """The user the claims' `sub` names, or (the first time) the one invited by their verified
    e-mail address, or a new one. Raises NotAdmitted for a new subject without a verified
    address, or an address another subject holds."""
    subject = str(claims["sub"])
    users = User.objects.using("default")
    user = users.filter(subject=subject).first()
    if user is not None:
        return user
    email = str(claims.get("email") or "").lower()
    if not email:
        raise NotAdmitted(
            AuthErrorCode.NOT_A_MEMBER, "The token has no email claim for a new user."
        )
    # Only an address the issuer vouches for may claim an account made by e-mail (an
    # invitation, a tenant's first owner): otherwise anyone could sign up as the owner.
    if claims.get("email_verified") is not True:
        raise NotAdmitted(
            AuthErrorCode.EMAIL_NOT_VERIFIED, "The issuer has not verified this e-mail address."
        )
    user = users.filter(email=email).first()
    if user is not None:
        if user.subject is not None:
            raise NotAdmitted(
                AuthErrorCode.EMAIL_TAKEN, "This e-mail address belongs to another sign-in."
            )
        user.subject = subject  # invited by e-mail, seen now for the first time
        user.save(update_fields=["subject"])
        return user
    try:
        with transaction.atomic():
            return User.objects.create_user(email, subject=subject)
    except IntegrityError:  # a concurrent first request created them
        return users.get(email=email)


def _membership_from_claims(user: User, tenant: Tenant, claims: dict) -> Membership:
    role = _role_claim(claims.get(settings.OIDC_ROLE_CLAIM))
    if role is None or not (uses_dev_issuer() or settings.OIDC_GRANT_MEMBERSHIP_FROM_CLAIMS):
        raise NotAdmitted(AuthErrorCode.NOT_A_MEMBER, f"You are not a member of {tenant.slug!r}.")
    membership, _ = Membership.objects.get_or_create(
        user=user, tenant=tenant, defaults={"role": role}
    )
    return membership


def _role_claim(value) -> Role | None:
    """The highest known role among the claim's values (a string or a list)."""
    values = value if isinstance(value, list) else [value]
    roles = [Role(v) for v in values if v in Role.values]
    return max(roles, key=lambda role: role.rank) if roles else None
