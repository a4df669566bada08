"""API keys: created by admins, stored hashed, revocable at once."""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from tenants.identity import sessions
from tenants.identity.errors import AuthenticationFailed, AuthErrorCode
from tenants.models import ApiKey, Tenant, User
from tenants.roles import Role

KEY_PREFIX = "lk_"


def hash_key(secret: str) -> str:
    # Keys are 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(*, tenant: Tenant, name: str, role: Role, actor: User) -> tuple[ApiKey, str]:
    """A new key and its plaintext, which is never stored and cannot be shown again."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        tenant=tenant,
        name=name,
        role=role,
        prefix=secret[:10],
        key_hash=hash_key(secret),
        created_by=actor,
    )
    return api_key, secret


def revoke_api_key(*, api_key: ApiKey, actor: User) -> ApiKey:
    """Revoke the key and end every session traded for it, at once. Idempotent."""
    with transaction.atomic():
        if api_key.revoked_at is None:
            api_key.revoked_at = timezone.now()
            api_key.save(update_fields=["revoked_at"])
    sessions.end_sessions_for_key(api_key)
    return api_key


def api_key_for_secret(secret: str) -> ApiKey:
    """The active key with this plaintext, read from the primary (a key revoked a moment ago
    must not work). Raises AuthenticationFailed."""
    api_key = (
        ApiKey.objects.using("default")
        .select_related("tenant", "created_by")
        .filter(key_hash=hash_key(secret), revoked_at__isnull=True)
        .first()
    )
    if api_key is None or not api_key.tenant.is_active:
        raise AuthenticationFailed(
            AuthErrorCode.INVALID_API_KEY, "The API key is unknown or revoked."
        )
    return api_key


def mark_used(api_key: ApiKey) -> None:
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now())
