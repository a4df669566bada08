"""Tenant WebSockets. TenantConsumer admits a socket the way the API admits a request, and
keeps it honest afterwards: it is closed when its token expires, its API key is revoked, its
admin session signs out, or its member is removed or given another role.

Close codes: 4401 no or no longer valid credentials, 4403 the role does not allow it,
4404 the thing subscribed to does not exist.
"""

from __future__ import annotations

import asyncio
import time

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from tenants.identity.browser_sessions import session_group_parts
from tenants.identity.sessions import key_group_parts
from tenants.members import member_group_parts
from tenants.permissions import allows
from tenants.realtime import group_name
from tenants.websocket import SUBPROTOCOL

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


class TenantConsumer(AsyncJsonWebsocketConsumer):
    resource: str
    action: str = "read"

    async def connect(self) -> None:
        self.joined: list[str] = []
        self.expiry: asyncio.TimerHandle | None = None
        # Accept first, so a refusal reaches the browser as a close code it can act on.
        protocols = self.scope.get("subprotocols") or []
        await self.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in protocols else None)
        identity, tenant = self.scope.get("identity"), self.scope["tenant"]
        if identity is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not allows(identity.role, self.resource, self.action):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        if identity.api_key_id is not None:
            await self.join(group_name(tenant.schema_name, *key_group_parts(identity.api_key_id)))
        else:
            await self.join(group_name(tenant.schema_name, *member_group_parts(identity.user.pk)))
        if identity.browser_session is not None:
            parts = session_group_parts(identity.browser_session)
            await self.join(group_name(tenant.schema_name, *parts))
        if identity.expires_at is not None:
            delay = max(0.0, identity.expires_at - time.time())
            self.expiry = asyncio.get_running_loop().call_later(
                delay, lambda: asyncio.ensure_future(self.close(code=CLOSE_UNAUTHENTICATED))
            )
        await self.subscribed(tenant, identity)

    async def subscribed(self, tenant, identity) -> None:
        """Join the socket's groups and send what a late subscriber must see first."""
        raise NotImplementedError

    async def join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.joined.append(group)

    async def disconnect(self, code) -> None:
        if getattr(self, "expiry", None) is not None:
            self.expiry.cancel()
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def relay(self, message: dict) -> None:
        await self.send_json(message["event"])

    async def revoked(self, message: dict) -> None:
        await self.close(code=CLOSE_UNAUTHENTICATED)


class TenantEventsConsumer(TenantConsumer):
    """`ws/events/`: the tenant's event feed (`<schema>.events`)."""

    resource, action = "events", "subscribe"

    async def subscribed(self, tenant, identity) -> None:
        await self.join(group_name(tenant.schema_name, "events"))
        await self.send_json({"type": "subscribed", "tenant": tenant.slug, "role": identity.role})
