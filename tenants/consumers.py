"""The tenant's live event feed over WebSocket: `ws/events/`."""

from __future__ import annotations

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from tenants.permissions import allows
from tenants.realtime import group_name
from tenants.websocket import SUBPROTOCOL

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


class TenantEventsConsumer(AsyncJsonWebsocketConsumer):
    """Relays the events published to `<schema>.events` to the tenant's members."""

    resource, action = "events", "subscribe"

    async def connect(self) -> None:
        # Accept first, so a refusal reaches the browser as a close code it can act on.
        protocols = self.scope.get("subprotocols") or []
        await self.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in protocols else None)
        identity = self.scope.get("identity")
        tenant = self.scope["tenant"]
        if identity is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not allows(identity.role, self.resource, self.action):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group = group_name(tenant.schema_name, "events")
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json({"type": "subscribed", "tenant": tenant.slug, "role": identity.role})

    async def disconnect(self, code) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def relay(self, message: dict) -> None:
        await self.send_json(message["event"])
