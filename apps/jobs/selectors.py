"""Reads of the tenant's jobs, every kind together."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from apps.jobs.kinds import KINDS
from apps.jobs.models import JobListing


def jobs(*, kind: str | None = None, status: str | None = None) -> QuerySet[JobListing]:
    listing = JobListing.objects.select_related("created_by")
    if kind:
        listing = listing.filter(kind=kind)
    if status:
        listing = listing.filter(status=status)
    return listing


def summary_of(job: JobListing) -> dict:
    """A job as the jobs list shows it, and a webhook's delivery carries it."""
    user = job.created_by
    return {
        "kind": job.kind,
        "id": job.job_id,
        "status": job.status,
        "progress": {"done": job.done, "total": job.total, "unit": job.unit},
        "error": job.error,
        "created_by": {"id": user.pk, "email": user.email} if user else None,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "url": f"/api/v1/{KINDS[job.kind].resource_path}/{job.job_id}/",
    }


def job_summary(*, kind: str, job_id: int) -> dict:
    """`summary_of` the job, read from the primary (inside the transaction that changed it)."""
    listing = JobListing.objects.using("default").select_related("created_by")
    return summary_of(listing.get(kind=kind, job_id=job_id))


def _iso(moment: datetime | None) -> str | None:
    # As the API renders times: ISO 8601, UTC as Z.
    return moment.isoformat().replace("+00:00", "Z") if moment else None
