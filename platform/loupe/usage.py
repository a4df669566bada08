"""What the active tenant uses of its limits (tenants/quotas.py): bytes and rows stored, jobs
queued and running by kind, training runs queued or running. Counted now, on the primary
and in storage."""

from __future__ import annotations

from django.db.models import Count, Q

from apps.datasets.models import DataRow
from apps.jobs.kinds import KINDS
from apps.jobs.models import FINAL_STATUSES, JobStatus
from apps.training.models import TrainingRun
from loupe.storage_quota import stored_bytes
from tenants.activation import active_schema
from tenants.quotas import limits_for


def tenant_usage() -> dict:
    limits = limits_for(active_schema())
    jobs = {}
    for kind in KINDS.values():
        counted = (
            kind.model_class()
            .objects.using("default")
            .aggregate(
                queued=Count("pk", filter=Q(status=JobStatus.QUEUED)),
                running=Count("pk", filter=Q(status__in=kind.active_statuses)),
            )
        )
        jobs[kind.name] = counted | {"limit": limits.concurrent_jobs[kind.name]}
    training_runs = TrainingRun.objects.using("default").exclude(status__in=FINAL_STATUSES)
    return {
        "storage_bytes": {"used": stored_bytes(), "limit": limits.storage_bytes},
        "rows": {"used": DataRow.objects.using("default").count(), "limit": limits.rows},
        "jobs": jobs,
        "training_runs": {"used": training_runs.count(), "limit": limits.training_runs},
    }
