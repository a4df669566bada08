"""Sessions traded for API keys, held in Redis with a TTL, so that a request bearing one is
authenticated from memory alone, with no database query.

Redis holds only a SHA-256 of each session token. Each key's sessions are indexed so that
revoking the key ends them all at once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from loupe.redis_client import redis_client, tenant_key
from tenants.identity.errors import AuthenticationFailed, AuthErrorCode
from tenants.identity.principal import Identity, Via
from tenants.models import ApiKey, Tenant, User
from tenants.realtime import publish
from tenants.roles import Role

SESSION_PREFIX = "ls_"


def _session_key(token: str) -> str:
    digest = hashlib.sha256(token.encode()).hexdigest()
    return f"{settings.REDIS_KEY_PREFIX}:api-session:{digest}"


def _key_index(schema_name: str, api_key_id: int) -> str:
    return tenant_key(schema_name, "api-key", str(api_key_id), "sessions")


def create_session(*, api_key: ApiKey) -> tuple[str, datetime]:
    """A new session token for the key, and when it expires (API_SESSION_TTL_SECONDS)."""
    ttl = settings.API_SESSION_TTL_SECONDS
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    tenant, user = api_key.tenant, api_key.created_by
    payload = {
        "tenant": {
            "id": tenant.pk,
            "schema": tenant.schema_name,
            "slug": tenant.slug,
            "name": tenant.name,
        },
        "user": {"id": user.pk, "email": user.email} if user else None,
        "role": api_key.role,
        "expires_at": time.time() + ttl,
        "key": {"id": api_key.pk, "name": api_key.name},
    }
    index = _key_index(tenant.schema_name, api_key.pk)
    pipe = redis_client().pipeline()
    pipe.set(_session_key(token), json.dumps(payload), ex=ttl)
    pipe.sadd(index, _session_key(token))
    pipe.expire(index, ttl)
    pipe.execute()
    return token, timezone.now() + timedelta(seconds=ttl)


def identity_for_session(token: str) -> Identity:
    """The identity a session token stands for, from Redis alone. Raises AuthenticationFailed
    when the session is unknown, expired or ended by revocation."""
    raw = redis_client().get(_session_key(token))
    if raw is None:
        raise AuthenticationFailed(
            AuthErrorCode.SESSION_EXPIRED,
            "The session is unknown, expired or revoked; trade the API key for a new one.",
        )
    data = json.loads(raw)
    tenant = Tenant(
        id=data["tenant"]["id"],
        schema_name=data["tenant"]["schema"],
        slug=data["tenant"]["slug"],
        name=data["tenant"]["name"],
        is_active=True,
    )
    user_data = data["user"] or {"id": None, "email": ""}
    user = User(id=user_data["id"], email=user_data["email"], is_active=True)
    return Identity(
        user=user,
        tenant=tenant,
        role=Role(data["role"]),
        via=Via.API_KEY_SESSION,
        api_key_id=data["key"]["id"],
        api_key_name=data["key"]["name"],
        expires_at=data.get("expires_at"),
    )


def end_sessions_for_key(api_key: ApiKey) -> int:
    """End every session traded for this key, and close the WebSockets opened with them;
    the number of sessions ended."""
    client = redis_client()
    index = _key_index(api_key.tenant.schema_name, api_key.pk)
    keys = [key.decode() for key in client.smembers(index)]
    ended = client.delete(*keys) if keys else 0
    client.delete(index)
    publish(api_key.tenant.schema_name, *key_group_parts(api_key.pk), event={}, handler="revoked")
    return ended


def key_group_parts(api_key_id: int) -> tuple[str, str]:
    """The Channels group (after the schema) of the sockets opened with this key's sessions."""
    return ("api-key", str(api_key_id))


def end_sessions_for_tenant(tenant: Tenant) -> None:
    for api_key in ApiKey.objects.using("default").filter(tenant=tenant).select_related("tenant"):
        end_sessions_for_key(api_key)
