"""A worker's hold on a job: claimed under its lease, kept alive by a heartbeat, ended once.

`hold_job` is how every job kind's runner starts: it takes the job's lease (so one worker
runs it), marks it running and counts the attempt, and beats its heartbeat from a thread
(so the sweep can tell a busy worker from a lost one, even inside a long step). A job taken
more than its kind's `max_attempts` times fails rather than resume forever.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator

from django.conf import settings
from django.db import Error, connection, connections, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.jobs.admission import reason_to_wait, send_next_waiting
from apps.jobs.events import append_event
from apps.jobs.kinds import JobKind, kind_named
from apps.jobs.leases import lease
from apps.jobs.mail import mail_on_commit
from apps.jobs.models import FINAL_STATUSES, Job, JobStatus
from apps.jobs.signals import job_finished

logger = logging.getLogger(__name__)

WORKER_LOST = "worker_lost"


@contextlib.contextmanager
def hold_job(kind_name: str, job_id: int) -> Iterator[Job | None]:
    """Yields the job, running and held by this worker, or None when there is nothing to
    run: it is final, another worker holds it, or it has ended here (cancelled while its
    worker was lost, or out of attempts)."""
    kind = kind_named(kind_name)
    with lease(kind.name, job_id) as held:
        if not held:
            logger.warning("job held by another worker", extra={"kind": kind.name, "id": job_id})
            yield None
            return
        job = _claim(kind, job_id)
        if job is None:
            yield None
            return
        with heartbeat(job):
            yield job


def _claim(kind: JobKind, job_id: int) -> Job | None:
    with transaction.atomic(using="default"):
        job = kind.model_class().objects.using("default").select_for_update().get(pk=job_id)
        if job.status in FINAL_STATUSES:
            return None
        if job.status == JobStatus.CANCELLING:
            finish_job(job, kind.name, JobStatus.CANCELLED)
            return None
        if job.attempts >= kind.max_attempts:
            fail_lost_job(job, kind)
            return None
        if waiting := reason_to_wait(kind):
            job.waiting_for, job.sent_at = waiting, None
            job.save(update_fields=["waiting_for", "sent_at"])
            return None
        now = timezone.now()
        job.status, job.attempts, job.heartbeat_at = JobStatus.RUNNING, job.attempts + 1, now
        job.started_at, job.waiting_for = job.started_at or now, ""
        job.worker = socket.gethostname()
        fields = ["status", "attempts", "heartbeat_at", "started_at", "waiting_for", "worker"]
        job.save(update_fields=fields)
        return job


def fail_lost_job(job: Job, kind: JobKind) -> None:
    finish_job(
        job,
        kind.name,
        JobStatus.FAILED,
        error=(
            f"{WORKER_LOST}: the worker running this {kind.name.replace('_', ' ')} was lost "
            f"{job.attempts} times; its last checkpoint is kept"
        ),
    )


def finish_job(job: Job, kind_name: str, status: JobStatus, *, error: str = "", data=None) -> Job:
    """End the job with `status`, once: its `<prefix>.<status>` event commits with it. The
    place it held goes to the tenant's oldest job of its kind left waiting for one, and its
    submitter gets the e-mail they asked for (`notify`); `job_finished` is sent in the same
    transaction (webhooks)."""
    kind = kind_named(kind_name)
    with transaction.atomic(using="default"):
        job.status, job.error, job.finished_at = status, error, timezone.now()
        job.save(update_fields=["status", "error", "finished_at"])
        body = dict(data or {})
        if error:
            body["error"] = error
        append_event(job, kind.name, f"{kind.event_prefix}.{status}", body)
        transaction.on_commit(lambda: send_next_waiting(kind), using="default")
        mail_on_commit(job, kind)
        job_finished.send(sender=type(job), job=job, kind=kind.name, status=status)
    return job


@contextlib.contextmanager
def heartbeat(job: Job) -> Iterator[None]:
    """Write the job's `heartbeat_at` every JOB_HEARTBEAT_SECONDS from a thread of its own
    (with its own database connection) while the block runs."""
    tenant, model, stop = connection.tenant, type(job), threading.Event()

    def beat() -> None:
        with tenant_context(tenant):
            while not stop.wait(settings.JOB_HEARTBEAT_SECONDS):
                try:
                    model.objects.using("default").filter(pk=job.pk).update(
                        heartbeat_at=timezone.now()
                    )
                except Error:
                    logger.warning("heartbeat not written", extra={"id": job.pk})
                    connections["default"].close()
        connections.close_all()

    thread = threading.Thread(target=beat, name=f"heartbeat-{job.pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=settings.JOB_HEARTBEAT_SECONDS + 5)
