"""What the active tenants hold, counted at scrape time: jobs by kind and status, summed over
the tenants (so the kinds and their statuses bound the series, not the tenants), and each
tenant's indexing outbox, its entries and the age of the oldest.

One pass over the tenants, two queries in each: the jobs of every kind in one UNION ALL, and
the outbox's count and oldest entry in one scan. Read on the primary: through a lagging
replica, a backlog would look smaller and younger than it is.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import DatabaseError
from django.db.models import Count, Min, QuerySet, Value
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, tenant_context
from prometheus_client.core import GaugeMetricFamily

from apps.jobs.kinds import KINDS
from search.models import OutboxEntry
from tenants.models import Tenant

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboxBacklog:
    entries: int
    oldest_age_seconds: float  # 0 when the outbox is empty


def job_counts() -> Counter[tuple[str, str]]:
    """The active tenant's jobs, counted by (kind, status)."""
    per_kind = [
        kind.model_class()
        .objects.using("default")
        .order_by()
        .values("status")
        .annotate(kind=Value(kind.name), jobs=Count("pk"))
        .values_list("kind", "status", "jobs")
        for kind in KINDS.values()
    ]
    rows = per_kind[0].union(*per_kind[1:], all=True)
    return Counter({(kind, status): jobs for kind, status, jobs in rows})


def outbox_backlog() -> OutboxBacklog:
    """The active tenant's outbox: the entries waiting, and how long the oldest has."""
    found = OutboxEntry.objects.using("default").aggregate(
        entries=Count("id"), oldest=Min("created_at")
    )
    if found["oldest"] is None:
        return OutboxBacklog(entries=0, oldest_age_seconds=0.0)
    age = (timezone.now() - found["oldest"]).total_seconds()
    return OutboxBacklog(entries=found["entries"], oldest_age_seconds=max(age, 0.0))


def _every_status() -> Counter[tuple[str, str]]:
    """A zero for each kind's every status, so a series exists before its first job."""
    return Counter(
        {
            (kind.name, status): 0
            for kind in KINDS.values()
            for status, _ in kind.model_class()._meta.get_field("status").choices
        }
    )


def _active_tenants() -> QuerySet[Tenant]:
    return (
        Tenant.objects.using("default")
        .filter(is_active=True)
        .exclude(schema_name=get_public_schema_name())
        .order_by("schema_name")
    )


def _scan() -> tuple[Counter[tuple[str, str]], dict[str, OutboxBacklog]]:
    counts, backlogs = _every_status(), {}
    for tenant in _active_tenants():
        with tenant_context(tenant):
            counts.update(job_counts())
            backlogs[tenant.schema_name] = outbox_backlog()
    return counts, backlogs


class TenantDataCollector:
    def collect(self) -> Iterator[GaugeMetricFamily]:
        jobs = GaugeMetricFamily(
            "loupe_jobs",
            "Jobs by kind and status, counted over every active tenant at scrape time.",
            labels=["kind", "status"],
        )
        entries = GaugeMetricFamily(
            "loupe_search_outbox_entries",
            "Changes waiting in the tenant's indexing outbox for Elasticsearch.",
            labels=["tenant"],
        )
        oldest = GaugeMetricFamily(
            "loupe_search_outbox_oldest_age_seconds",
            "Age of the oldest entry in the tenant's indexing outbox (0 when it is empty).",
            labels=["tenant"],
        )
        try:
            counts, backlogs = _scan()
        except DatabaseError:
            # No series rather than false zeros; loupe_component_up{component="primary"} says why.
            logger.warning("tenant metrics left out: the primary did not answer", exc_info=True)
        else:
            for (kind, status), count in sorted(counts.items()):
                jobs.add_metric([kind, status], count)
            for schema, backlog in backlogs.items():
                entries.add_metric([schema], backlog.entries)
                oldest.add_metric([schema], backlog.oldest_age_seconds)
        yield jobs
        yield entries
        yield oldest
