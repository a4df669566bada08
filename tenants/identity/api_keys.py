"""API keys: created by admins, stored hashed, revocable at once; creations and revocations
are recorded in the tenant's audit log."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name
from redis.exceptions import RedisError

from loupe.api.errors import ApiError
from tenants.audit.models import AuditAction
from tenants.audit.record import record
from tenants.identity import sessions
from tenants.identity.errors import (
    ApiKeyErrorCode,
    AuthenticationFailed,
    AuthErrorCode,
    NotAdmitted,
    ServiceUnavailable,
)
from tenants.identity.throttle import count_failure
from tenants.models import ApiKey, Tenant, User
from tenants.roles import Role

KEY_PREFIX = "lk_"


def hash_key(secret: str) -> str:
    # Keys are 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(*, tenant: Tenant, name: str, role: Role, actor: User) -> tuple[ApiKey, str]:
    """A new key and its plaintext, which is never stored and cannot be shown again."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic(using="default"):
        api_key = ApiKey.objects.create(
            tenant=tenant,
            name=name,
            role=role,
            prefix=secret[:10],
            key_hash=hash_key(secret),
            created_by=actor,
        )
        record(
            action=AuditAction.API_KEY_CREATED,
            target_id=api_key.pk,
            detail=f"{_described(api_key)} as {role}",
            tenant=tenant,
        )
    return api_key, secret


def _described(api_key: ApiKey) -> str:
    return f"{api_key.name} ({api_key.prefix}…)"


def revoke_api_key(*, api_key: ApiKey, actor: User | None) -> ApiKey:
    """Revoke the key and end every session traded for it, as one step: the sessions end
    inside the transaction that revokes the key, before it commits, so none outlives the
    revocation (a trade under way holds the key's row, so the revocation waits for it and ends
    its session too). Idempotent: only the first revocation is recorded. Raises ApiError 503
    (revocation_unavailable) when Redis cannot be reached: then nothing has changed (nor is
    recorded), the key and its sessions still work, and the call may be retried."""
    revoked_at = api_key.revoked_at
    try:
        with transaction.atomic(using="default"):
            if api_key.revoked_at is None:
                api_key.revoked_at = timezone.now()
                api_key.save(update_fields=["revoked_at"])
                record(
                    action=AuditAction.API_KEY_REVOKED,
                    target_id=api_key.pk,
                    detail=_described(api_key),
                    tenant=api_key.tenant,
                )
            sessions.end_sessions_for_key(api_key)
    except RedisError as exc:
        api_key.revoked_at = revoked_at  # as the rolled-back row has it
        raise ApiError(
            status=503,
            code=ApiKeyErrorCode.REVOCATION_UNAVAILABLE,
            detail="The key's sessions could not be ended (the session store is unreachable), "
            "so the key was not revoked: it and its sessions still work. Retry shortly.",
        ) from exc
    return api_key


def api_key_for_secret(secret: str, *, for_update: bool = False) -> ApiKey:
    """The active key with this plaintext, read from the primary (a key revoked a moment ago
    must not work). With `for_update`, the key's row stays locked until the caller's
    transaction ends. Raises AuthenticationFailed."""
    keys = ApiKey.objects.using("default").select_related("tenant", "created_by")
    if for_update:
        keys = keys.select_for_update(of=("self",), no_key=True)
    api_key = keys.filter(key_hash=hash_key(secret), revoked_at__isnull=True).first()
    if api_key is None or not api_key.tenant.is_active:
        raise AuthenticationFailed(
            AuthErrorCode.INVALID_API_KEY, "The API key is unknown or revoked."
        )
    return api_key


def trade_api_key(*, secret: str, client: str, host_tenant: Tenant | None) -> tuple[str, datetime]:
    """A session token for the key, and when it expires. The key's tenant must be the host's
    when the host serves one. The key's row is locked while its session is made, so a trade
    and a revocation of the same key take turns: a trade after a revocation finds the key
    revoked. Raises AuthenticationFailed (401, counted against the client's throttle),
    TooManyFailures (429: it failed, as too many from this client did lately), NotAdmitted
    (403) or ServiceUnavailable (503)."""
    try:
        with transaction.atomic(using="default"):
            try:
                if not secret:
                    raise AuthenticationFailed(
                        AuthErrorCode.NOT_AUTHENTICATED, "Send the key in X-API-Key."
                    )
                api_key = api_key_for_secret(secret, for_update=True)
            except AuthenticationFailed:
                count_failure(client)
                raise
            on_tenant_host = (
                host_tenant is not None and host_tenant.schema_name != get_public_schema_name()
            )
            if on_tenant_host and host_tenant.pk != api_key.tenant_id:
                raise NotAdmitted(AuthErrorCode.TENANT_MISMATCH, "This key is for another tenant.")
            session = sessions.create_session(api_key=api_key)
            api_key.last_used_at = timezone.now()
            api_key.save(update_fields=["last_used_at"])
    except RedisError as exc:
        raise ServiceUnavailable(
            AuthErrorCode.SERVICE_UNAVAILABLE, "Sessions are unavailable; retry shortly."
        ) from exc
    return session
