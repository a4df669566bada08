"""Sending a job's task to its workers, and knowing the broker took it.

A job commits `queued` before its task is sent (a worker must never get a task whose job
it cannot read yet), so a send can be lost: the broker down at that moment, or the process
ending between the commit and the send. The job is kept either way and the request that
made it answers as usual; `sent_at` says whether the broker took the task. The job sweep
sends a queued job that was never sent, once the broker answers again, and sends once more
a job still queued long after its send (a broker that lost its queue). A second copy of a
task is harmless: a worker that gets one finds the job held or ended, and leaves it.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from apps.jobs.kinds import JobKind, kind_named
from loupe.dispatch import enqueue

logger = logging.getLogger(__name__)


def send_job(kind: JobKind, job_id: int) -> bool:
    """Send the job's task now (its job committed); True once the broker has taken it."""
    try:
        enqueue(kind.task, kwargs={"job_id": job_id}, queue=kind.queue)
    except OperationalError:
        logger.warning(
            "job not sent: the broker did not answer; the job sweep sends it later",
            extra={"kind": kind.name, "id": job_id},
        )
        return False
    kind.model_class().objects.using("default").filter(pk=job_id).update(sent_at=timezone.now())
    return True


def send_job_on_commit(kind_name: str, job_id: int) -> None:
    """Send the job's task once the current transaction commits; nothing for a rollback."""
    kind = kind_named(kind_name)
    transaction.on_commit(lambda: send_job(kind, job_id))
