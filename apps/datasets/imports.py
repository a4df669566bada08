"""Import jobs: accepting a file and recording its job (import_runs.py runs them)."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from apps.datasets.errors import DatasetErrorCode
from apps.datasets.import_sources import checked_source
from apps.datasets.models import DataRow, Dataset, ImportJob
from apps.jobs.events import append_event
from apps.jobs.sending import send_job_on_commit
from loupe.api.errors import ApiError
from loupe.storage.files import delete_files
from tenants.activation import active_schema
from tenants.quotas import QuotaError, limits_for


def check_row_quota() -> None:
    """Refuse an import while the active tenant holds its limit of rows, or more (its quota
    lowered since): ApiError 429 row_quota_exceeded. Call before the upload is read. An
    import below the limit may still reach it part way, and stops there (import_runs.py)."""
    limit = limits_for(active_schema()).rows
    held = DataRow.objects.using("default").count()
    if held >= limit:
        raise ApiError(
            status=429,
            code=QuotaError.ROWS,
            detail=(
                f"The tenant holds {held:,} rows, its limit of {limit:,}: no import starts "
                "until it holds fewer. Delete rows or datasets it no longer needs, or ask "
                "an operator to raise its row quota."
            ),
            extra={"rows": {"used": held, "limit": limit}},
        )


def start_import(
    *,
    dataset: Dataset,
    format: str,
    upload=None,
    source_uri: str = "",
    notify: bool = False,
    actor,
) -> ImportJob:
    """Record an import job for an uploaded file (stored under the tenant's prefix until the
    job ends) or a `source_uri` (a path under IMPORT_ROOT or an s3:// object: see
    import_sources.py), and queue it once committed. `format` is one of ImportFormat's, as
    the request's serializer has checked. Raises ApiError 400 for a missing, unsafe or
    unknown source, 403 for an s3:// object outside the tenant's prefixes."""
    if (upload is None) == (not source_uri):
        raise ApiError(
            status=400,
            code=DatasetErrorCode.FILE_REQUIRED,
            detail="Send exactly one of an uploaded `file` or a `source_uri`.",
        )
    if source_uri:
        file_name = checked_source(source_uri)
    else:
        name = f"{active_schema()}/imports/{uuid.uuid4().hex}/{Path(upload.name).name}"
        file_name = default_storage.save(name, upload)
    with transaction.atomic():
        job = ImportJob.objects.create(
            dataset=dataset,
            format=format,
            source_uri=source_uri,
            file_name=file_name,
            created_by=actor if getattr(actor, "pk", None) else None,
            notify=notify,
        )
        append_event(job, "import", "import.queued", progress_data(job))
        send_job_on_commit("import", job.pk)
    return job


def create_local_import(*, dataset: Dataset, format: str, path: str) -> ImportJob:
    """A job for a file on this machine, run by the caller (the import_dataset command):
    there is no task to send."""
    with transaction.atomic(using="default"):
        job = ImportJob.objects.create(
            dataset=dataset, format=format, source_uri=path, file_name=path, sent_at=timezone.now()
        )
        append_event(job, "import", "import.queued", progress_data(job))
    return job


def discard_upload(job: ImportJob) -> None:
    """Delete the job's uploaded file, once the job has ended (a failure to delete is
    logged, not raised). A source the tenant named (a path, an s3:// object) is theirs, and
    stays."""
    if not job.source_uri:
        delete_files([job.file_name])


def progress_data(job: ImportJob) -> dict:
    """What an import's events say of it: its status and counters, and why it was refused."""
    return {
        "status": job.status,
        "total": job.total,
        "created": job.created,
        "updated": job.updated,
        "unchanged": job.unchanged,
        "failed": job.failed,
        "detail": job.detail,
    }
