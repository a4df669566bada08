"""ASGI middleware that resolves a WebSocket's tenant from its Host header, as the HTTP
tenant middleware does; django-tenants has none for WebSockets. Fails closed: a socket with
no active tenant is refused before any consumer runs."""

from __future__ import annotations

from channels.db import database_sync_to_async

from tenants.middleware import tenant_for_host

CLOSE_TENANT_NOT_FOUND = 4404
CLOSE_TENANT_INACTIVE = 4403


class TenantWebSocketMiddleware:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        host = dict(scope.get("headers", [])).get(b"host", b"").decode("latin-1")
        tenant = await database_sync_to_async(tenant_for_host)(host) if host else None
        if tenant is None or not tenant.is_active:
            code = CLOSE_TENANT_INACTIVE if tenant else CLOSE_TENANT_NOT_FOUND
            return await _refuse(receive, send, code)
        return await self.inner({**scope, "tenant": tenant}, receive, send)


async def _refuse(receive, send, code: int) -> None:
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": code})
