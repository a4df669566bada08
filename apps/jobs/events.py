"""A job's event stream: stored with a gapless per-job `seq`, then published live.

Live events go to the job's group (`<schema>.job.<kind>.<id>`) once their transaction
commits; lifecycle events (everything but progress) also go to the tenant's feed
(`<schema>.events`). A follower replays what is stored after the seq it saw, then takes
the live ones (see consumers.py), so nothing is missed or seen twice.
"""

from __future__ import annotations

from django.db import connections, transaction

from apps.jobs.models import Job, JobEvent
from tenants.activation import active_schema
from tenants.realtime import publish

# Frequent, and of interest only to the job's own followers.
PROGRESS_TYPES = frozenset({"batch.progress", "chunk.progress", "import.progress"})


def event_body(event: JobEvent) -> dict:
    return {
        "seq": event.seq,
        "type": event.type,
        "kind": event.kind,
        "job": event.job_id,
        "time": event.created_at.isoformat(),
        "data": event.data,
    }


def job_group_parts(kind: str, job_id: int) -> tuple[str, ...]:
    return ("job", kind, str(job_id))


def append_event(job: Job, kind: str, event_type: str, data: dict | None = None) -> JobEvent:
    """Store the job's next event and publish it once committed. The seq is taken from the
    job row (`event_seq + 1`, which locks the row) in the same transaction as the insert:
    the caller's, when it has one, so the event commits with the change it describes."""
    table = connections["default"].ops.quote_name(type(job)._meta.db_table)
    with transaction.atomic(using="default"):
        with connections["default"].cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET event_seq = event_seq + 1 WHERE id = %s RETURNING event_seq",
                [job.pk],
            )
            job.event_seq = cursor.fetchone()[0]
        event = JobEvent.objects.using("default").create(
            kind=kind, job_id=job.pk, seq=job.event_seq, type=event_type, data=data or {}
        )
        schema = active_schema()
        body = event_body(event)
        transaction.on_commit(lambda: _publish(schema, kind, body), using="default")
    return event


def _publish(schema: str, kind: str, body: dict) -> None:
    publish(schema, *job_group_parts(kind, body["job"]), event=body)
    if body["type"] not in PROGRESS_TYPES:
        publish(schema, "events", event=body)


def events_after(*, kind: str, job_id: int, after: int, limit: int) -> list[JobEvent]:
    """The job's stored events with seq > `after`, oldest first, at most `limit`. Read from
    the primary: a follower must never see a gap that replication lag made."""
    return list(
        JobEvent.objects.using("default")
        .filter(kind=kind, job_id=job_id, seq__gt=after)
        .order_by("seq")[:limit]
    )
