"""Running import jobs, in batches: what the worker (and the import_dataset command) calls.

Each batch is committed together with the job's counters, so a worker killed mid-import
leaves the job resumable: running it again skips the records already committed and finishes
with no duplicates (the upsert is keyed by external_id anyway). The next batches are read,
parsed and staged in processes of their own (import_staging.py) while Postgres writes the
current one.

The tenant's limits (tenants/quotas.py) hold here: an import starts only while the tenant
runs fewer than its limit of imports (else it waits queued, apps/jobs/admission.py); a batch
that would take it past its rows is not written, and a ZIP's image that would take it past
its storage bytes is not stored: the import stops there, keeping every batch before.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import shutil
import tempfile
import time

import psycopg
from django.conf import settings
from django.db import Error, connection, transaction
from django.db.models import Count, Max
from django.utils import timezone

from apps.datasets.copy_writer import SeenRows, write_batch
from apps.datasets.errors import ImportFailure
from apps.datasets.import_sources import local_source
from apps.datasets.import_staging import staged_ahead
from apps.datasets.importers.copy_lines import CommittedBatch, StagedBatch
from apps.datasets.importers.formats import importer_for
from apps.datasets.importers.records import FileRejected
from apps.datasets.imports import discard_upload, progress_data
from apps.datasets.media import StoredMedia, media_prefix
from apps.datasets.models import DataRow, ImportFormat, ImportJob, ImportStatus
from apps.jobs.admission import reason_to_wait, send_next_waiting
from apps.jobs.events import append_event
from apps.jobs.kinds import kind_named
from apps.jobs.leases import hold_tenant_lock, lease
from apps.jobs.lifecycle import heartbeat
from apps.jobs.mail import mail_on_commit
from apps.jobs.signals import job_finished
from loupe.storage_quota import StorageBudget
from search.outbox import request_drain
from tenants.activation import active_schema
from tenants.quotas import QuotaError, QuotaReached, limits_for

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
    connection, whose session may hold the lock a while yet: then ImportInterrupted). One
    past its tenant's limit of running imports is returned queued, saying why in
    `waiting_for`, to be sent again when a place frees. `on_progress(job)` is called after
    each committed batch. Raises ImportInterrupted when the database connection is lost on
    the way."""
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
            if job.status != ImportStatus.RUNNING:  # it has ended, or waits for a place
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
        _end(job)
        discard_upload(job)
        send_next_waiting(kind_named(KIND))
    return job


def _end(job: ImportJob) -> None:
    """Save the job's end: its status, `finished_at` and `detail`, with its last event
    (`import.<status>`), `job_finished` and the e-mail its submitter asked for."""
    with transaction.atomic(using="default"):
        job.save(update_fields=["status", "finished_at", "detail"])
        append_event(job, KIND, f"import.{job.status}", progress_data(job))
        mail_on_commit(job, kind_named(KIND))
        job_finished.send(sender=ImportJob, job=job, kind=KIND, status=job.status)


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
    """Take the job for this worker: it runs from now, its heartbeat starts, and each worker
    that takes it counts (a resume after a lost connection is the same worker's). A queued
    job past its tenant's limit of running imports is left queued and unsent, saying why; a
    running one (resumed) holds its place already. A job taken more often than its kind
    allows, every worker lost on it, fails instead."""
    kind = kind_named(KIND)
    with transaction.atomic(using="default"):
        if counted and job.attempts >= kind.max_attempts:
            _fail_lost(job)
            return
        # In the claim's transaction: claims of the tenant's imports take turns.
        if job.status == ImportStatus.QUEUED and (waiting := reason_to_wait(kind)):
            job.waiting_for, job.sent_at = waiting, None
            job.save(update_fields=["waiting_for", "sent_at"])
            return
        now, first = timezone.now(), job.started_at is None
        job.status, job.started_at = ImportStatus.RUNNING, job.started_at or now
        job.heartbeat_at, job.waiting_for = now, ""
        job.attempts += 1 if counted else 0
        fields = ["status", "started_at", "heartbeat_at", "waiting_for", "attempts"]
        job.save(update_fields=fields)
        append_event(
            job,
            KIND,
            "import.started" if first else "import.resumed",
            {"attempt": job.attempts, "records_done": job.records_done},
        )


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
    _end(job)
    transaction.on_commit(lambda: discard_upload(job), using="default")
    transaction.on_commit(lambda: send_next_waiting(kind_named(KIND)), using="default")


def _run(job: ImportJob, on_progress) -> ImportJob:
    started = time.perf_counter()
    extract_dir = tempfile.mkdtemp(prefix=f"import-{job.pk}-")
    media = StoredMedia(job.dataset_id)
    status = None
    try:
        with local_source(job) as path:
            importer = importer_for(
                job.format,
                path,
                extract_dir=extract_dir,
                max_total_bytes=settings.IMPORT_ZIP_MAX_BYTES,
                max_ratio=settings.IMPORT_ZIP_MAX_RATIO,
                max_entries=settings.IMPORT_ZIP_MAX_ENTRIES,
            )
            _run_batches(job, importer, on_progress, media)
    except FileRejected as exc:
        job.detail = f"{exc.code}: {exc.message}"
    except QuotaReached as exc:
        # Stopped part way, not refused: the batches before stay.
        job.detail = f"{exc.code}: {exc.message}"
        kept = job.created + job.updated + job.unchanged
        status = ImportStatus.PARTIALLY_FAILED if kept else ImportStatus.FAILED
    except Exception as exc:
        if _connection_lost(exc):
            # Nothing can be recorded now; the job stays running, to be resumed (which
            # stores its media again under the same names).
            raise
        # Anything unforeseen ends the job as failed, not forever running; Sentry gets it.
        job.status, job.finished_at = ImportStatus.FAILED, timezone.now()
        job.detail = (
            f"{ImportFailure.INTERNAL_ERROR}: the import stopped unexpectedly "
            f"({type(exc).__name__})"
        )
        _end(job)
        _clean_up(job, media)
        raise
    finally:
        shutil.rmtree(extract_dir, ignore_errors=True)
    job.status = status or _final_status(job)
    job.finished_at = timezone.now()
    _end(job)
    _clean_up(job, media)
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


def _clean_up(job: ImportJob, media: StoredMedia) -> None:
    """At the job's end: its upload goes, and so do the media it stored that no row names
    (a refused row's, or those of batches staged ahead when the import stopped); the place
    it held goes to the tenant's oldest import waiting for one."""
    discard_upload(job)
    try:
        media.delete_unsettled()
    except Exception:  # the database or the store failing too: the job has ended anyway
        logger.warning("import media not cleaned up", extra={"import_job": job.pk}, exc_info=True)
    try:
        send_next_waiting(kind_named(KIND))
    except Exception:  # the job sweep sends it later
        logger.warning("waiting import not sent", extra={"import_job": job.pk}, exc_info=True)


def _final_status(job: ImportJob) -> ImportStatus:
    if job.detail:
        return ImportStatus.FAILED
    if job.failed == 0:
        return ImportStatus.SUCCEEDED
    return ImportStatus.PARTIALLY_FAILED if job.total > job.failed else ImportStatus.FAILED


def _run_batches(job: ImportJob, importer, on_progress, media: StoredMedia) -> None:
    rows = RowTally(limits_for(active_schema()).rows)
    is_zip = job.format == ImportFormat.ZIP
    batches = staged_ahead(
        importer,
        stores_media=is_zip,
        skip=job.records_done,
        media_prefix=media_prefix(job.dataset_id),
        media=media,
        # Only a ZIP stores files (its images): counting the tenant's costs a listing.
        storage=StorageBudget() if is_zip else None,
    )
    with rare_young_collections(), SeenRows() as seen, contextlib.closing(batches):
        for batch in batches:
            if isinstance(batch, CommittedBatch):
                seen.add(batch.ids)
            else:
                _commit_batch(job, batch, on_progress, media, rows, seen)


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


def _commit_batch(
    job: ImportJob,
    batch: StagedBatch,
    on_progress,
    media: StoredMedia,
    rows: RowTally,
    seen: SeenRows,
) -> None:
    with transaction.atomic():
        rows.take_turn()
        result = write_batch(dataset_id=job.dataset_id, rows=batch.rows, seen=seen)
        # A batch that only updates rows adds none: it is written even past the limit (an
        # operator may have lowered it). One that adds too many is rolled back, raised.
        if result.created and (held := rows.held_now()) > rows.limit:
            raise QuotaReached(
                QuotaError.ROWS,
                f"the tenant's row quota is reached: it holds {held - result.created:,} of "
                f"its {rows.limit:,} rows, and the next batch adds {result.created:,}; the "
                f"import stopped after {job.records_done:,} records, each kept. Delete rows "
                "or datasets it no longer needs, or ask an operator to raise its row quota, "
                "then import the file again: what it holds already stays unchanged",
            )
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
        append_event(job, KIND, "import.progress", progress_data(job))
        if result.created or result.updated:
            request_drain()
    refused = {error.line for error in result.errors}
    media.settled(staged.media_uri for staged in batch.rows if staged.source_line not in refused)
    if on_progress is not None:
        on_progress(job)


class RowTally:
    """The tenant's rows, as one import's batches find them against its row quota.

    Counting every row at each batch would cost seconds a batch at tens of millions of rows,
    so they are counted in full once, then by the ids added since: every row is created by
    an import's batch while it holds the tenant's lock (`take_turn`), so rows created after
    a count have greater ids. Rows deleted meanwhile make the tally high, never low: before
    it refuses a batch, the rows are counted in full again."""

    def __init__(self, limit: int):
        self.limit = limit
        self._held: int | None = None
        self._last_id = 0

    def take_turn(self) -> None:
        """Call at the start of the batch's transaction: imports of the tenant write their
        batches in turn from here to its end, so they never pass the limit together."""
        hold_tenant_lock("rows")

    def held_now(self) -> int:
        """The tenant's rows now, the batch's own included (read in its transaction)."""
        rows = DataRow.objects.using("default")
        if self._held is not None:
            added = rows.filter(pk__gt=self._last_id).aggregate(n=Count("pk"), last=Max("pk"))
            self._held += added["n"]
            self._last_id = added["last"] or self._last_id
        if self._held is None or self._held > self.limit:
            counted = rows.aggregate(n=Count("pk"), last=Max("pk"))
            self._held, self._last_id = counted["n"], counted["last"] or 0
        return self._held
