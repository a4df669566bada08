"""Whether a tenant may start one more job of a kind now: each tenant runs at most its limit
of each kind at once (tenants/quotas.py), so one tenant cannot hold every worker.

A worker that takes a job past the limit leaves it `queued`, saying why in `waiting_for`,
and unsent: the job sweep sends it again, and so does the end of one of the tenant's jobs of
that kind, which frees a place. Claims of one tenant and kind take turns (a lock held to the
end of the claim's transaction), so two workers never both take the last place.
"""

from __future__ import annotations

from apps.jobs.kinds import JobKind
from apps.jobs.leases import hold_tenant_lock
from apps.jobs.models import JobStatus
from apps.jobs.sending import send_job
from tenants.activation import active_schema
from tenants.quotas import limits_for


def reason_to_wait(kind: JobKind) -> str:
    """Call inside the claim's transaction. Empty when the job may start; otherwise why not."""
    hold_tenant_lock(f"admission:{kind.name}")
    limit = limits_for(active_schema()).concurrent_jobs[kind.name]
    running = (
        kind.model_class().objects.using("default").filter(status__in=kind.active_statuses).count()
    )
    if running < limit:
        return ""
    return (
        f"tenant_limit: {running} of this tenant's {kind.name.replace('_', ' ')}s are running, "
        f"its limit; this one starts when one of them ends"
    )


def next_waiting(kind: JobKind) -> int | None:
    """The oldest of the tenant's jobs of this kind left waiting for a place, if any."""
    return (
        kind.model_class()
        .objects.using("default")
        .filter(status=JobStatus.QUEUED)
        .exclude(waiting_for="")
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )


def send_next_waiting(kind: JobKind) -> None:
    """Once one of the tenant's jobs of this kind has ended (and so freed its place), send
    the oldest one waiting, if any: its worker takes the place, or leaves it waiting again."""
    if (job_id := next_waiting(kind)) is not None:
        send_job(kind, job_id)
