"""Import jobs: accepting a file and recording its job (import_runs.py runs them)."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction

from apps.datasets.errors import DatasetErrorCode
from apps.datasets.models import Dataset, ImportFormat, ImportJob
from loupe.api.errors import ApiError
from loupe.dispatch import enqueue_on_commit
from tenants.activation import active_schema
from tenants.realtime import publish


def _source_path(source_uri: str) -> Path:
    if source_uri.startswith("s3://"):
        raise ApiError(
            status=400,
            code=DatasetErrorCode.INVALID_SOURCE,
            detail="s3:// sources need S3 storage, and this deployment stores files locally.",
            fields={"source_uri": ["s3 not configured"]},
        )
    # Each tenant reads only its own folder of the import root.
    root = (Path(settings.IMPORT_ROOT) / active_schema()).resolve()
    path = (root / source_uri.removeprefix("file://").lstrip("/")).resolve()
    if not path.is_relative_to(root):
        raise ApiError(
            status=400,
            code=DatasetErrorCode.INVALID_SOURCE,
            detail="source_uri must be a path inside the tenant's folder of the import root.",
            fields={"source_uri": ["outside"]},
        )
    try:
        found = path.is_file()
    except OSError:  # a name too long for the file system, say
        found = False
    if not found:
        raise ApiError(
            status=400,
            code=DatasetErrorCode.SOURCE_NOT_FOUND,
            detail=f"No file {source_uri!r} under the import root.",
            fields={"source_uri": ["not found"]},
        )
    return path


def start_import(
    *, dataset: Dataset, format: str, upload=None, source_uri: str = "", actor
) -> ImportJob:
    """Record an import job for an uploaded file or a `source_uri` under IMPORT_ROOT, and
    queue it once committed. Raises ApiError 400 for a missing, unsafe or unknown source."""
    if format not in ImportFormat.values:
        raise ApiError(
            status=400,
            code=DatasetErrorCode.UNKNOWN_FORMAT,
            detail=f"format must be one of {', '.join(ImportFormat.values)}.",
            fields={"format": ["unknown"]},
        )
    if (upload is None) == (not source_uri):
        raise ApiError(
            status=400,
            code=DatasetErrorCode.FILE_REQUIRED,
            detail="Send exactly one of an uploaded `file` or a `source_uri`.",
        )
    if source_uri:
        file_name = str(_source_path(source_uri))
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
        )
        enqueue_on_commit("workers.imports.run_import", kwargs={"job_id": job.pk})
    return job


def create_local_import(*, dataset: Dataset, format: str, path: str) -> ImportJob:
    """A job for a file on this machine, run by the caller (the import_dataset command)."""
    return ImportJob.objects.create(dataset=dataset, format=format, source_uri=path, file_name=path)


def local_path(job: ImportJob) -> str:
    return job.file_name if job.source_uri else default_storage.path(job.file_name)


def job_event(job: ImportJob) -> dict:
    return {
        "type": "import.progress",
        "id": job.pk,
        "status": job.status,
        "total": job.total,
        "created": job.created,
        "updated": job.updated,
        "unchanged": job.unchanged,
        "failed": job.failed,
        "detail": job.detail,
    }


def publish_job(job: ImportJob) -> None:
    """Sends the job's progress to the browsers following it."""
    publish(active_schema(), "import", str(job.pk), event=job_event(job))
