"""API keys: created by admins, stored hashed, revocable at once."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name
from redis.exceptions import RedisError

from tenants.identity import sessions
from tenants.identity.errors import (
    AuthenticationFailed,
    AuthErrorCode,
    NotAdmitted,
    ServiceUnavailable,
    TooManyFailures,
)
from tenants.identity.throttle import is_throttled, record_failure
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


def trade_api_key(*, secret: str, client: str, host_tenant: Tenant | None) -> tuple[str, datetime]:
    """A session token for the key, and when it expires. The key's tenant must be the host's
    when the host serves one. Raises AuthenticationFailed (401, counted against the client's
    throttle), TooManyFailures (429), NotAdmitted (403) or ServiceUnavailable (503)."""
    try:
        if is_throttled(client):
            raise TooManyFailures(AuthErrorCode.TOO_MANY_FAILURES, "Too many failed attempts.")
        try:
            if not secret:
                raise AuthenticationFailed(
                    AuthErrorCode.NOT_AUTHENTICATED, "Send the key in X-API-Key."
                )
            api_key = api_key_for_secret(secret)
        except AuthenticationFailed:
            record_failure(client)
            raise
        on_tenant_host = (
            host_tenant is not None and host_tenant.schema_name != get_public_schema_name()
        )
        if on_tenant_host and host_tenant.pk != api_key.tenant_id:
            raise NotAdmitted(AuthErrorCode.TENANT_MISMATCH, "This key is for another tenant.")
        session = sessions.create_session(api_key=api_key)
    except RedisError as exc:
        raise ServiceUnavailable(
            AuthErrorCode.SERVICE_UNAVAILABLE, "Sessions are unavailable; retry shortly."
        ) from exc
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now())
    return session
