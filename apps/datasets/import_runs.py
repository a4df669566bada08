"""Running import jobs, in batches: what the worker (and the import_dataset command) calls.

Each batch is committed together with the job's counters, so a worker killed mid-import
leaves the job resumable: running it again skips the records already committed and finishes
with no duplicates (the upsert is keyed by external_id anyway). The next batches are read,
parsed and staged on a thread of their own while Postgres writes the current one.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace

import psycopg
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import Error, connection, transaction
from django.utils import timezone

from apps.datasets.copy_writer import write_batch
from apps.datasets.errors import ImportFailure
from apps.datasets.importers.copy_lines import StagedBatch, stage_batch
from apps.datasets.importers.formats import importer_for
from apps.datasets.importers.records import FileRejected, ParsedRow, RowError
from apps.datasets.imports import local_path, publish_job
from apps.datasets.models import ImportJob, ImportStatus
from apps.datasets.read_ahead import read_ahead
from apps.jobs.kinds import kind_named
from apps.jobs.leases import lease
from apps.jobs.lifecycle import heartbeat
from search.outbox import request_drain
from tenants.activation import active_schema

logger = logging.getLogger(__name__)

# The job kind of imports (apps/jobs/kinds.py): its lease, heartbeat and sweep.
KIND = "import"
FINAL = {ImportStatus.SUCCEEDED, ImportStatus.PARTIALLY_FAILED, ImportStatus.FAILED}
# A database error as Django raises it, or as psycopg does from the COPY it runs directly.
_DATABASE_ERRORS = (Error, psycopg.Error)
# admin_shutdown, crash_shutdown, cannot_connect_now (class 08 is the connection's own).
_SERVER_ENDED_SESSION = {"57P01", "57P02", "57P03"}


class ImportInterrupted(Exception):
    """The database connection was lost mid-import, or the job's lock is still held by a
    lost session. The job is left running, with every batch committed so far: running it
    again resumes it."""


def run_import(*, job_id: int, on_progress=None, resuming: bool = False) -> ImportJob:
    """Run (or resume) an import job to its end. Idempotent: a finished job is returned
    as is, and one another runner holds is left to it (unless `resuming` after a lost
    connection, whose session may hold the lock a while yet: then ImportInterrupted).
    `on_progress(job)` is called after each committed batch. Raises ImportInterrupted when
    the database connection is lost on the way."""
    try:
        job = ImportJob.objects.using("default").select_related("dataset").get(pk=job_id)
        if job.status in FINAL:
            return job
        with lease(KIND, job.pk) as claimed:
            if not claimed and resuming:
                raise ImportInterrupted("the job's lock is still held by a lost session")
            if not claimed:  # another worker is running it (a redelivered task): leave it be
                logger.warning("import already running elsewhere", extra={"import_job": job.pk})
                return job
            job.refresh_from_db()
            if job.status in FINAL:
                return job
            _claim(job, counted=not resuming)
            if job.status in FINAL:
                return job
            with heartbeat(job):
                return _run(job, on_progress)
    except _DATABASE_ERRORS as exc:
        if not _connection_lost(exc):
            raise
        connection.close()  # the next attempt connects afresh
        logger.warning(
            "import interrupted: database connection lost",
            extra={"import_job": job_id, "error": str(exc)},
        )
        raise ImportInterrupted(type(exc).__name__) from exc


def fail_interrupted_import(*, job_id: int, reason: str) -> ImportJob:
    """Ends a job the database kept interrupting, as failed, saying how far it got."""
    job = ImportJob.objects.using("default").get(pk=job_id)
    if job.status not in FINAL:
        job.status, job.finished_at = ImportStatus.FAILED, timezone.now()
        job.detail = (
            f"{ImportFailure.DATABASE_UNAVAILABLE}: the import stopped after "
            f"{job.records_done} records, as the database kept failing ({reason}); "
            "start the import again to finish it"
        )
        job.save(update_fields=["status", "finished_at", "detail"])
        publish_job(job)
    return job


def _connection_lost(exc: Exception) -> bool:
    """Whether `exc` says the connection to the database was lost: closed on the way, or
    ended by the server (shut down, restarting, or a session terminated). Errors the
    database answers with (a timeout, a deadlock, a full disk) fail the job instead."""
    cause = exc.__cause__ if isinstance(exc, Error) else exc  # Django wraps psycopg's
    if not isinstance(cause, psycopg.OperationalError | psycopg.InterfaceError):
        return False
    sqlstate = cause.sqlstate
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in _SERVER_ENDED_SESSION


def _claim(job: ImportJob, *, counted: bool) -> None:
    """Take the job for this worker: its heartbeat starts now, and each worker that takes it
    counts (a resume after a lost connection is the same worker's). A job taken more often
    than its kind allows, every worker lost on it, fails instead."""
    if counted and job.attempts >= kind_named(KIND).max_attempts:
        _fail_lost(job)
        return
    job.heartbeat_at = timezone.now()
    job.attempts += 1 if counted else 0
    job.save(update_fields=["heartbeat_at", "attempts"])


def recover_lost_import(job: ImportJob, kind) -> str:
    """The job sweep's recovery of an import whose worker was lost: sent again to resume
    after its last committed batch, or failed once its attempts are spent. Its heartbeat
    restarts the timeout, so a resend that is lost too is sent again later."""
    if job.attempts >= kind.max_attempts:
        _fail_lost(job)
        return "failed"
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["heartbeat_at"])
    return "requeued"


def _fail_lost(job: ImportJob) -> None:
    job.status, job.finished_at = ImportStatus.FAILED, timezone.now()
    job.detail = (
        f"{ImportFailure.WORKER_LOST}: the import's worker was lost {job.attempts} times, "
        f"after {job.records_done} records; start the import again to finish it"
    )
    job.save(update_fields=["status", "finished_at", "detail"])
    transaction.on_commit(lambda: publish_job(job), using="default")


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
    except Exception as exc:
        if _connection_lost(exc):
            raise  # nothing can be recorded now; the job stays running, to be resumed
        # Anything unforeseen ends the job as failed, not forever running; Sentry gets it.
        job.status, job.finished_at = ImportStatus.FAILED, timezone.now()
        job.detail = (
            f"{ImportFailure.INTERNAL_ERROR}: the import stopped unexpectedly "
            f"({type(exc).__name__})"
        )
        job.save(update_fields=["status", "finished_at", "detail"])
        publish_job(job)
        raise
    finally:
        shutil.rmtree(extract_dir, ignore_errors=True)
    job.status = _final_status(job)
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "finished_at", "detail"])
    publish_job(job)
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


def _run_batches(job: ImportJob, records: Iterable, on_progress) -> None:
    batches = staged_batches(
        records,
        skip=job.records_done,
        batch_size=settings.IMPORT_BATCH_SIZE,
        media_prefix=f"{active_schema()}/datasets/{job.dataset_id}/media/",
    )
    with rare_young_collections():
        for batch in read_ahead(batches, depth=settings.IMPORT_READ_AHEAD_BATCHES):
            _commit_batch(job, batch, on_progress)


@contextlib.contextmanager
def rare_young_collections():
    """Parsing allocates millions of short-lived objects, which reference counting frees;
    Python's cycle collector, run every 700 allocations by default, costs a fifth of the
    parsing for nothing. It runs every 20,000 here (measured by bench/imports.py). The
    threshold is the process's: workers run one import per process (the prefork pool)."""
    threshold = gc.get_threshold()
    gc.set_threshold(20_000, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def staged_batches(
    records: Iterable[ParsedRow | RowError], *, skip: int, batch_size: int, media_prefix: str
) -> Iterator[StagedBatch]:
    """The records after the first `skip` (committed by an earlier, interrupted run), in
    batches staged for COPY, their media moved into storage under `media_prefix`. Runs
    ahead of the commits on a thread of its own, so it never touches the database."""
    batch: list[ParsedRow | RowError] = []
    for index, record in enumerate(records):
        if index < skip:
            _discard_media(record)
            continue
        batch.append(_with_stored_media(record, media_prefix))
        if len(batch) >= batch_size:
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
    publish_job(job)
    if on_progress is not None:
        on_progress(job)


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
