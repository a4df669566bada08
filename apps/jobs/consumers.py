"""A job's events over WebSocket: `ws/<kind path>/<id>/?after=N`.

The socket joins the job's group before it reads the store, and Channels hands a consumer
one message at a time, so no live event can slip between the stored ones and the live ones:
the live events the store already gave are dropped by their seq, and a gap (a live event
lost on the way) is filled from the store.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django_tenants.utils import tenant_context

from apps.jobs.events import event_body, events_after, job_group_parts
from apps.jobs.kinds import kind_named
from tenants.consumers import CLOSE_NOT_FOUND, TenantConsumer
from tenants.realtime import group_name

CLOSE_BAD_REQUEST = 4400
_PAGE = 500


@database_sync_to_async
def _job_exists(tenant, kind: str, job_id: int) -> bool:
    with tenant_context(tenant):
        return kind_named(kind).model_class().objects.using("default").filter(pk=job_id).exists()


@database_sync_to_async
def _stored(tenant, kind: str, job_id: int, after: int) -> list[dict]:
    with tenant_context(tenant):
        return [
            event_body(e) for e in events_after(kind=kind, job_id=job_id, after=after, limit=_PAGE)
        ]


def _after(scope) -> int | None:
    values = parse_qs(scope.get("query_string", b"").decode()).get("after", ["0"])
    try:
        after = int(values[-1])
    except ValueError:
        return None
    return after if after >= 0 else None


class JobEventsConsumer(TenantConsumer):
    kind: str

    async def subscribed(self, tenant, identity) -> None:
        self.tenant = tenant
        self.job_id = int(self.scope["url_route"]["kwargs"]["job_id"])
        after = _after(self.scope)
        if after is None:
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        if not await _job_exists(tenant, self.kind, self.job_id):
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.last_seq = after
        await self.join(group_name(tenant.schema_name, *job_group_parts(self.kind, self.job_id)))
        await self._send_stored()

    async def _send_stored(self) -> None:
        while events := await _stored(self.tenant, self.kind, self.job_id, self.last_seq):
            for event in events:
                await self._send(event)
            if len(events) < _PAGE:
                return

    async def _send(self, event: dict) -> None:
        await self.send_json(event)
        self.last_seq = event["seq"]

    async def relay(self, message: dict) -> None:
        event = message["event"]
        if event["seq"] <= self.last_seq:
            return
        if event["seq"] > self.last_seq + 1:
            await self._send_stored()
            return
        await self._send(event)
