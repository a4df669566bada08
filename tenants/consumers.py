"""The tenant's live event feed over WebSocket: `ws/events/`."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from tenants.models import Membership
from tenants.realtime import group_name

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


@database_sync_to_async
def _is_member(user, tenant) -> bool:
    return Membership.objects.using("default").filter(user=user, tenant=tenant).exists()


class TenantEventsConsumer(AsyncJsonWebsocketConsumer):
    """Relays the events published to `<schema>.events` to the tenant's members."""

    async def connect(self) -> None:
        # Accept first, so a refusal reaches the browser as a close code it can act on.
        await self.accept()
        user = self.scope.get("user")
        tenant = self.scope["tenant"]
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not await _is_member(user, tenant):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group = group_name(tenant.schema_name, "events")
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json({"type": "subscribed", "tenant": tenant.slug})

    async def disconnect(self, code) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def relay(self, message: dict) -> None:
        await self.send_json(message["event"])
