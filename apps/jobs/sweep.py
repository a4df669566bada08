"""The sweep that finds jobs whose worker was lost, for every kind of job.

The broker cannot be counted on for this: with Redis, a task whose worker was SIGKILLed
comes back only after its visibility timeout (hours). A job whose heartbeat is older than
JOB_HEARTBEAT_TIMEOUT_SECONDS and whose lease is free (its worker's database session has
ended) is queued again to resume from where it stopped, cancelled if it was being
cancelled, or failed once its kind's attempts are spent. Never left running.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.jobs.events import append_event
from apps.jobs.kinds import KINDS, JobKind
from apps.jobs.leases import lease
from apps.jobs.lifecycle import WORKER_LOST, fail_lost_job, finish_job
from apps.jobs.models import JobStatus
from loupe.dispatch import enqueue

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recovered:
    kind: str
    job_id: int
    outcome: str  # requeued | cancelled | failed


def sweep_lost_jobs() -> list[Recovered]:
    """Recover the active tenant's jobs whose workers were lost; returns what it did."""
    cutoff = timezone.now() - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT_SECONDS)
    recovered = []
    for kind in KINDS.values():
        stale = (
            kind.model_class()
            .objects.using("default")
            .filter(status__in=kind.active_statuses, heartbeat_at__lt=cutoff)
            .values_list("pk", flat=True)
        )
        for job_id in stale:
            with lease(kind.name, job_id) as held:
                outcome = _recover(kind, job_id, cutoff) if held else None
            # Sent only now: a worker taking it while the sweep still held the lease would
            # find it held, and leave it queued.
            if outcome == "requeued":
                enqueue(kind.task, kwargs={"job_id": job_id}, queue=kind.queue)
            if outcome:
                recovered.append(Recovered(kind.name, job_id, outcome))
    return recovered


def _recover(kind: JobKind, job_id: int, cutoff) -> str | None:
    with transaction.atomic(using="default"):
        job = kind.model_class().objects.using("default").select_for_update().get(pk=job_id)
        if job.status not in kind.active_statuses or job.heartbeat_at >= cutoff:
            return None  # it moved on meanwhile
        logger.warning(
            "job's worker lost",
            extra={"kind": kind.name, "id": job.pk, "attempts": job.attempts},
        )
        if handler := kind.lost_handler():
            return handler(job, kind)
        if job.status == JobStatus.CANCELLING:
            finish_job(job, kind.name, JobStatus.CANCELLED)
            return "cancelled"
        if job.attempts >= kind.max_attempts:
            fail_lost_job(job, kind)
            return "failed"
        job.status, job.heartbeat_at = JobStatus.QUEUED, None
        job.save(update_fields=["status", "heartbeat_at"])
        append_event(
            job,
            kind.name,
            f"{kind.event_prefix}.requeued",
            {"reason": WORKER_LOST, "attempts": job.attempts},
        )
        return "requeued"
