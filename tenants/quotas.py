"""A tenant's limits: the platform's defaults (QUOTA_* settings), each overridden where an
operator set one on the tenant's quota (tenants.models.TenantQuota, in the admin)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings

from tenants.models import TenantQuota


class QuotaError(StrEnum):
    """Why a request or a job was stopped at one of its tenant's limits: a refused request's
    code, or the first word of a stopped import's `detail`."""

    STORAGE = "storage_quota_exceeded"
    ROWS = "row_quota_exceeded"


class QuotaReached(Exception):
    """A job's next write would take its tenant past one of its limits: the job stops there,
    keeping what it wrote before."""

    def __init__(self, code: QuotaError, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Limits:
    storage_bytes: int
    rows: int
    concurrent_jobs: dict[str, int]  # by job kind
    training_runs: int  # queued or running at once


def limits_for(schema_name: str) -> Limits:
    quota = (
        TenantQuota.objects.using("default").filter(tenant__schema_name=schema_name).first()
        or TenantQuota()
    )

    def pick(value: int | None, default: int) -> int:
        return default if value is None else value

    return Limits(
        storage_bytes=pick(quota.storage_bytes, settings.QUOTA_STORAGE_BYTES),
        rows=pick(quota.rows, settings.QUOTA_ROWS),
        concurrent_jobs={
            kind: pick(getattr(quota, f"concurrent_{kind}s"), default)
            for kind, default in settings.QUOTA_CONCURRENT_JOBS.items()
        },
        training_runs=pick(quota.training_runs, settings.QUOTA_TRAINING_RUNS),
    )
