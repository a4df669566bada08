"""Uploads held to the tenant's storage quota before their body is read, under the ASGI server.

Django's ASGI handler reads a request's whole body into a temporary file on the web node
before any middleware or view runs, so the views' own check (loupe.storage_quota) comes only
after the node's disk has taken the upload. This gate stands in front of Django and looks at
each multipart POST to a view that stores its upload (`stores_upload`) as it arrives. When it
comes from a member the view would serve, in an active tenant: a Content-Length past what the
tenant has left is answered 413 at once, unread; a body sent without one (chunked) is cut off
and answered 413 as soon as it passes that. Every other request goes to Django untouched and
is answered there as ever, so the gate tells the tenant's usage to no one the view would not
serve. The gate only answers early: when it cannot tell (the database or storage failing),
the request goes on to Django, whose view checks the quota again and answers as ever.
"""

from __future__ import annotations

import json
import logging

from channels.db import database_sync_to_async
from django.conf import settings
from django.urls import Resolver404, resolve
from django_tenants.utils import get_public_schema_name
from redis.exceptions import RedisError

from loupe.api.errors import ApiError, api_error_body
from loupe.storage_quota import storage_left, upload_refusal
from tenants.hosts import tenant_for_host
from tenants.identity.authenticate import bearer_token
from tenants.identity.claims import identity_from_claims
from tenants.identity.errors import AuthenticationFailed
from tenants.identity.principal import Identity
from tenants.identity.sessions import SESSION_PREFIX, identity_for_session
from tenants.identity.tokens import verify_jwt
from tenants.permissions import action_for, allows

logger = logging.getLogger(__name__)


class UploadGate:
    """ASGI middleware for HTTP, in front of Django's handler."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send) -> None:
        headers = dict(scope.get("headers") or [])
        view = _upload_view(scope) if scope["method"] == "POST" and _multipart(headers) else None
        if view is None:
            return await self.inner(scope, receive, send)
        room = await _room(view, headers)
        if room is None:
            return await self.inner(scope, receive, send)
        used, limit = room
        announced = headers.get(b"content-length", b"")
        if announced.isdigit():
            if used + int(announced) > limit:
                return await _answer(send, upload_refusal(used, limit, int(announced)))
            return await self.inner(scope, receive, send)
        body = _CountedBody(receive, left=limit - used)
        await self.inner(scope, body, send)
        if body.passed_at is not None:  # Django gave up reading it and answered nothing
            await _answer(send, upload_refusal(used, limit, body.passed_at, announced=False))


def _multipart(headers: dict) -> bool:
    return headers.get(b"content-type", b"").lower().startswith(b"multipart/")


def _upload_view(scope):
    """The class of the tenant API view at the request's path, when it stores its upload."""
    path = scope["path"].removeprefix(scope.get("root_path", ""))
    try:
        view = resolve(path, urlconf=settings.ROOT_URLCONF).func
    except Resolver404:
        return None
    view_class = getattr(view, "cls", None)
    return view_class if getattr(view_class, "stores_upload", False) else None


@database_sync_to_async
def _room(view_class, headers: dict) -> tuple[int, int] | None:
    """The tenant's bytes stored and its quota, when a member the view would serve sends the
    upload to an active tenant; None for any other request, or when it cannot be told."""
    try:
        host_tenant = tenant_for_host(headers.get(b"host", b"").decode("latin-1"))
        if host_tenant is not None and host_tenant.schema_name == get_public_schema_name():
            host_tenant = None
        identity = _identity(headers.get(b"authorization", b"").decode("latin-1"))
        if identity is None or host_tenant not in (None, identity.tenant):
            return None
        tenant = host_tenant or identity.tenant
        action = action_for(view_class, "POST")
        if not tenant.is_active or not allows(identity.role, view_class.resource, action):
            return None
        return storage_left(tenant.schema_name)
    except Exception:  # the view checks again, and answers whatever this was
        logger.warning("upload gate: could not measure the upload; left to the view", exc_info=True)
        return None


def _identity(authorization: str) -> Identity | None:
    """The token's identity, or None. Refused credentials are left to count as failures
    where Django refuses them (tenants.middleware), once."""
    try:
        token = bearer_token(authorization)
        if token is None:
            return None
        if token.startswith(SESSION_PREFIX):
            return identity_for_session(token)
        return identity_from_claims(verify_jwt(token))
    except (AuthenticationFailed, RedisError):
        return None


class _CountedBody:
    """The request's receive channel, which hands Django a disconnect instead of the chunk
    that takes the body past `left` bytes (Django then stops reading, and answers nothing)."""

    def __init__(self, receive, *, left: int):
        self._receive, self._left, self._received = receive, left, 0
        self.passed_at: int | None = None

    async def __call__(self):
        if self.passed_at is not None:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if self._received > self._left:
                self.passed_at = self._received
                return {"type": "http.disconnect"}
        return message


async def _answer(send, error: ApiError) -> None:
    body = json.dumps(api_error_body(error)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
