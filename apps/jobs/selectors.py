"""Reads of the tenant's jobs, every kind together."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.jobs.models import JobListing


def jobs(*, kind: str | None = None, status: str | None = None) -> QuerySet[JobListing]:
    listing = JobListing.objects.select_related("created_by")
    if kind:
        listing = listing.filter(kind=kind)
    if status:
        listing = listing.filter(status=status)
    return listing
