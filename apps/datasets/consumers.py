"""An import job's progress over WebSocket: `ws/imports/<id>/`. The job's current state is
sent first, so a late subscriber misses nothing; then every committed batch."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django_tenants.utils import tenant_context

from apps.datasets.imports import job_event
from apps.datasets.models import ImportJob
from tenants.permissions import allows
from tenants.realtime import group_name
from tenants.websocket import SUBPROTOCOL

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


@database_sync_to_async
def _current_state(tenant, job_id: int) -> dict | None:
    with tenant_context(tenant):
        job = ImportJob.objects.using("default").filter(pk=job_id).first()
        return job_event(job) if job else None


class ImportProgressConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        protocols = self.scope.get("subprotocols") or []
        await self.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in protocols else None)
        identity, tenant = self.scope.get("identity"), self.scope["tenant"]
        if identity is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not allows(identity.role, "datasets", "read"):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        job_id = int(self.scope["url_route"]["kwargs"]["job_id"])
        self.group = group_name(tenant.schema_name, "import", str(job_id))
        await self.channel_layer.group_add(self.group, self.channel_name)
        state = await _current_state(tenant, job_id)
        if state is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.send_json(state)

    async def disconnect(self, code) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def relay(self, message: dict) -> None:
        await self.send_json(message["event"])
