"""ASGI middleware giving each WebSocket its tenant and identity, as the HTTP middleware
does (django-tenants has none for WebSockets). The token comes in the
`Sec-WebSocket-Protocol` header (`bearer, <token>`) or a `token` query parameter; a socket
without one opened by a page of its own origin may use the admin's session cookie instead
(browser_sessions.py: the live pages).

Fails closed: a socket with no tenant, bad credentials or a tenant that disagrees with its
host is refused at the handshake (HTTP 403) before any consumer runs.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django_tenants.utils import get_public_schema_name

from tenants.hosts import tenant_for_host
from tenants.identity.authenticate import authenticate_token
from tenants.identity.browser_sessions import identity_from_session, session_key_from
from tenants.identity.client_address import client_address
from tenants.identity.errors import AuthenticationFailed

SUBPROTOCOL = "bearer"


def token_from_scope(scope) -> str | None:
    protocols = scope.get("subprotocols") or []
    if len(protocols) == 2 and protocols[0] == SUBPROTOCOL:
        return protocols[1]
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    return values[0] if values else None


@database_sync_to_async
def _admit(host: str, token: str | None, client: str, session_key: str | None):
    """(tenant, identity) for the socket, or None to refuse it."""
    host_tenant = tenant_for_host(host) if host else None
    if host_tenant is not None and host_tenant.schema_name == get_public_schema_name():
        host_tenant = None
    identity = None
    if token:
        try:
            identity = authenticate_token(token, client=client)
        except AuthenticationFailed:
            return None
        if host_tenant is not None and host_tenant.pk != identity.tenant.pk:
            return None
    tenant = host_tenant or (identity.tenant if identity else None)
    if tenant is None or not tenant.is_active:
        return None
    if identity is None and session_key:
        identity = identity_from_session(session_key, tenant)
    return tenant, identity


class TenantWebSocketMiddleware:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers", []))
        host = headers.get(b"host", b"").decode("latin-1")
        client = client_address(
            peer=(scope.get("client") or ["unknown"])[0],
            forwarded_for=headers.get(b"x-forwarded-for", b"").decode("latin-1"),
        )
        admitted = await _admit(host, token_from_scope(scope), client, session_key_from(headers))
        if admitted is None:
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": 4403})
            return None
        tenant, identity = admitted
        return await self.inner({**scope, "tenant": tenant, "identity": identity}, receive, send)
