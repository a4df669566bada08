"""An import job's progress over WebSocket: `ws/imports/<id>/`. The job's current state is
sent first, so a late subscriber misses nothing; then every committed batch."""

from __future__ import annotations

from channels.db import database_sync_to_async
from django_tenants.utils import tenant_context

from apps.datasets.imports import job_event
from apps.datasets.models import ImportJob
from tenants.consumers import CLOSE_NOT_FOUND, TenantConsumer
from tenants.realtime import group_name


@database_sync_to_async
def _current_state(tenant, job_id: int) -> dict | None:
    with tenant_context(tenant):
        job = ImportJob.objects.using("default").filter(pk=job_id).first()
        return job_event(job) if job else None


class ImportProgressConsumer(TenantConsumer):
    resource = "datasets"

    async def subscribed(self, tenant, identity) -> None:
        job_id = int(self.scope["url_route"]["kwargs"]["job_id"])
        await self.join(group_name(tenant.schema_name, "import", str(job_id)))
        state = await _current_state(tenant, job_id)
        if state is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.send_json(state)
