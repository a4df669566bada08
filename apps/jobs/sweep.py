"""The sweep that finds jobs whose worker was lost, or whose task never reached one, for
every kind of job.

The broker cannot be counted on for this: with Redis, a task whose worker was SIGKILLed
comes back only after its visibility timeout (hours). A job whose heartbeat is older than
JOB_HEARTBEAT_TIMEOUT_SECONDS and whose lease is free (its worker's database session has
ended) is queued again to resume from where it stopped, cancelled if it was being
cancelled, or failed once its kind's attempts are spent. Never left running. And a queued
job whose task the broker never took is sent (see sending.py). Never left queued.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, CharField, ExpressionWrapper, Q, Value
from django.utils import timezone

from apps.jobs.events import append_event
from apps.jobs.kinds import KINDS, JobKind
from apps.jobs.leases import lease
from apps.jobs.lifecycle import WORKER_LOST, fail_lost_job, finish_job
from apps.jobs.models import JobStatus
from apps.jobs.sending import send_job

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recovered:
    kind: str
    job_id: int
    outcome: str  # requeued | cancelled | failed | sent


def sweep_lost_jobs() -> list[Recovered]:
    """Recover the active tenant's jobs whose workers were lost, and send those whose
    tasks were never sent; returns what it did. One query finds them, for every kind."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT_SECONDS)
    recovered = []
    for kind_name, job_id, lost in _candidates(now, cutoff):
        kind = KINDS[kind_name]
        outcome = _recover_lost(kind, job_id, cutoff) if lost else _send_unsent(kind, job_id)
        if outcome:
            recovered.append(Recovered(kind.name, job_id, outcome))
    return recovered


def _candidates(now, cutoff) -> list[tuple[str, int, bool]]:
    """(kind, id, lost) of every job whose heartbeat is stale (lost) or whose task has not
    reached the broker, across every kind's table in one query."""
    unsent = Q(sent_at__isnull=True) & Q(
        created_at__lt=now - timedelta(seconds=settings.JOB_UNSENT_GRACE_SECONDS)
    )
    long_sent = Q(sent_at__lt=now - timedelta(seconds=settings.JOB_QUEUED_RESEND_SECONDS))
    queries = []
    for kind in KINDS.values():
        lost = Q(status__in=kind.active_statuses, heartbeat_at__lt=cutoff)
        waiting = Q(status=JobStatus.QUEUED) & (unsent | long_sent)
        queries.append(
            kind.model_class()
            .objects.using("default")
            .filter(lost | waiting)
            .annotate(
                kind=Value(kind.name, output_field=CharField()),
                lost=ExpressionWrapper(lost, output_field=BooleanField()),
            )
            .values_list("kind", "pk", "lost")
            .order_by()
        )
    first, *rest = queries
    return list(first.union(*rest, all=True))


def _recover_lost(kind: JobKind, job_id: int, cutoff) -> str | None:
    with lease(kind.name, job_id) as held:
        outcome = _recover(kind, job_id, cutoff) if held else None
    # Sent only now: a worker taking it while the sweep still held the lease would find it
    # held, and leave it queued. A send that fails leaves it to the next sweep.
    if outcome == "requeued":
        send_job(kind, job_id)
    return outcome


def _send_unsent(kind: JobKind, job_id: int) -> str | None:
    return "sent" if send_job(kind, job_id) else None


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
        job.status, job.heartbeat_at, job.sent_at = JobStatus.QUEUED, None, None
        job.save(update_fields=["status", "heartbeat_at", "sent_at"])
        append_event(
            job,
            kind.name,
            f"{kind.event_prefix}.requeued",
            {"reason": WORKER_LOST, "attempts": job.attempts},
        )
        return "requeued"
