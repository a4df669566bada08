"""Import jobs: accepting a file, and running its import in batches.

run_import is what the worker calls. It commits each batch together with the job's counters,
so a worker killed mid-import leaves the job resumable: running it again skips the records
already committed and finishes with no duplicates (the upsert is keyed by external_id anyway).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from apps.datasets.copy_writer import write_batch
from apps.datasets.errors import DatasetErrorCode
from apps.datasets.importers.copy_lines import StagedBatch, stage_batch
from apps.datasets.importers.formats import importer_for
from apps.datasets.importers.records import FileRejected, ParsedRow, RowError
from apps.datasets.models import Dataset, ImportFormat, ImportJob, ImportStatus
from apps.datasets.read_ahead import read_ahead
from loupe.api.errors import ApiError
from loupe.dispatch import enqueue_on_commit
from search.outbox import request_drain
from tenants.activation import active_schema
from tenants.realtime import publish

logger = logging.getLogger(__name__)

# The first key of the advisory locks that keep an import job to one runner.
_LOCK_SPACE = 7301
# What a lost, restarting or failing-over database raises (Django's wrappers, or psycopg's
# own from COPY): the job is left to be resumed rather than failed.
_DATABASE_LOST = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)
FINAL = {ImportStatus.SUCCEEDED, ImportStatus.PARTIALLY_FAILED, ImportStatus.FAILED}


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


def _publish(job: ImportJob) -> None:
    publish(active_schema(), "import", str(job.pk), event=job_event(job))


class ImportInterrupted(Exception):
    """The database connection failed mid-import. The job is left running, with every batch
    committed so far: running it again resumes it."""


def run_import(*, job_id: int, on_progress=None) -> ImportJob:
    """Run (or resume) an import job to its end. Idempotent: a finished job is returned
    as is. `on_progress(job)` is called after each committed batch. Raises ImportInterrupted
    when the database connection fails on the way."""
    try:
        job = ImportJob.objects.using("default").select_related("dataset").get(pk=job_id)
        if job.status in FINAL:
            return job
        with _exclusive(job.pk) as claimed:
            if not claimed:  # another worker is running it (a redelivered task): leave it be
                logger.warning("import already running elsewhere", extra={"import_job": job.pk})
                return job
            job.refresh_from_db()
            if job.status in FINAL:
                return job
            return _run(job, on_progress)
    except _DATABASE_LOST as exc:
        connection.close()  # the next attempt connects afresh
        raise ImportInterrupted(f"{type(exc).__name__}: {exc}") from exc


def fail_interrupted_import(*, job_id: int, reason: str) -> ImportJob:
    """Ends a job that could not be resumed for the database, as failed, saying why."""
    job = ImportJob.objects.using("default").get(pk=job_id)
    if job.status not in FINAL:
        job.status, job.finished_at = ImportStatus.FAILED, timezone.now()
        job.detail = (
            f"database_unavailable: the import stopped after {job.records_done} records, as "
            f"the database kept failing ({reason[:200]}); start the import again to finish it"
        )
        job.save(update_fields=["status", "finished_at", "detail"])
        _publish(job)
    return job


@contextlib.contextmanager
def _exclusive(job_id: int):
    """A session-level advisory lock on the job: true when this process holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_SPACE, job_id])
        claimed = cursor.fetchone()[0]
    try:
        yield claimed
    finally:
        # A lost session has let go of its locks already.
        if claimed:
            with contextlib.suppress(*_DATABASE_LOST), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_SPACE, job_id])


def _run(job: ImportJob, on_progress) -> ImportJob:
    job.status = ImportStatus.RUNNING
    job.started_at = job.started_at or timezone.now()
    job.save(update_fields=["status", "started_at"])
    started = time.perf_counter()
    extract_dir = tempfile.mkdtemp(prefix=f"import-{job.pk}-")
    try:
        importer = importer_for(
            job.format,
            local_path(job),
            extract_dir=extract_dir,
            max_total_bytes=settings.IMPORT_ZIP_MAX_BYTES,
            max_ratio=settings.IMPORT_ZIP_MAX_RATIO,
            max_entries=settings.IMPORT_ZIP_MAX_ENTRIES,
        )
        _run_batches(job, importer.iter_records(), on_progress)
    except FileRejected as exc:
        job.detail = f"{exc.code}: {exc.message}"
    except _DATABASE_LOST:
        raise  # nothing can be recorded now; the job stays running, to be resumed
    except Exception as exc:
        # Anything unforeseen ends the job as failed, not forever running; Sentry gets it.
        job.status, job.finished_at = ImportStatus.FAILED, timezone.now()
        job.detail = f"internal_error: the import stopped unexpectedly ({type(exc).__name__})"
        job.save(update_fields=["status", "finished_at", "detail"])
        _publish(job)
        raise
    finally:
        shutil.rmtree(extract_dir, ignore_errors=True)
    job.status = _final_status(job)
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "finished_at", "detail"])
    _publish(job)
    logger.info(
        "import finished",
        extra={
            "import_job": job.pk,
            "status": job.status,
            "rows": job.total,
            "seconds": round(time.perf_counter() - started, 2),
        },
    )
    return job


def _final_status(job: ImportJob) -> ImportStatus:
    if job.detail:
        return ImportStatus.FAILED
    if job.failed == 0:
        return ImportStatus.SUCCEEDED
    return ImportStatus.PARTIALLY_FAILED if job.total > job.failed else ImportStatus.FAILED


def _run_batches(job: ImportJob, records, on_progress) -> None:
    batches = _staged_batches(job, records, media_prefix=_media_prefix(job))
    with _rare_young_collections():
        for batch in read_ahead(batches, depth=settings.IMPORT_READ_AHEAD_BATCHES):
            _commit_batch(job, batch, on_progress)


@contextlib.contextmanager
def _rare_young_collections():
    """Parsing allocates millions of short-lived objects, which reference counting frees;
    Python's cycle collector, run every 700 allocations by default, costs a fifth of the
    parsing for nothing. It runs every 20,000 here (measured by bench/imports.py)."""
    threshold = gc.get_threshold()
    gc.set_threshold(20_000, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def _staged_batches(job: ImportJob, records, *, media_prefix: str) -> Iterator[StagedBatch]:
    """The file's batches not yet committed, staged for COPY (this runs ahead, on a thread
    of its own: no database here)."""
    batch: list[ParsedRow | RowError] = []
    for index, record in enumerate(records):
        if index < job.records_done:  # committed by an earlier, interrupted run
            _discard_media(record)
            continue
        batch.append(_with_stored_media(record, media_prefix))
        if len(batch) >= settings.IMPORT_BATCH_SIZE:
            yield stage_batch(batch)
            batch = []
    if batch:
        yield stage_batch(batch)


def _commit_batch(job: ImportJob, batch: StagedBatch, on_progress) -> None:
    with transaction.atomic():
        result = write_batch(dataset_id=job.dataset_id, rows=batch.rows)
        errors = batch.errors + result.errors
        job.records_done += batch.records
        job.created += result.created
        job.updated += result.updated
        job.unchanged += result.unchanged
        job.failed += len(errors)
        room = ImportJob.MAX_ERRORS - len(job.errors)
        job.errors += [
            {"line": e.line, "field": e.field, "message": e.message} for e in errors[:room]
        ]
        job.save(
            update_fields=["records_done", "created", "updated", "unchanged", "failed", "errors"]
        )
        if result.created or result.updated:
            request_drain()
    _publish(job)
    if on_progress is not None:
        on_progress(job)


def _media_prefix(job: ImportJob) -> str:
    return f"{active_schema()}/datasets/{job.dataset_id}/media/"


def _with_stored_media(record: ParsedRow | RowError, media_prefix: str) -> ParsedRow | RowError:
    """Move an extracted media file into storage under the tenant's prefix (a fixed name per
    dataset and entry, so a resumed import overwrites rather than duplicates)."""
    if not isinstance(record, ParsedRow) or record.media_file is None:
        return record
    name = media_prefix + record.media_uri
    if default_storage.exists(name):
        default_storage.delete(name)
    with open(record.media_file, "rb") as handle:
        stored = default_storage.save(name, handle)
    os.unlink(record.media_file)
    return replace(record, media_uri=stored, media_file=None)


def _discard_media(record) -> None:
    if isinstance(record, ParsedRow) and record.media_file:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(record.media_file)
