"""Running a prediction import: what its worker calls.

The file is read whole first, into a scratch store that gathers each row's records
(grouping.py), so a file refused for what its end holds changes nothing. The rows are then
written a batch at a time, each batch's predictions committed with the job's counters and a
progress event. A worker lost mid-file leaves the job to the job sweep, which sends it
again: the next attempt reads the file again and skips the records committed already
(`records_done`, always at a row's end), and a row written twice would still hold one copy,
as writing a version's predictions on a row replaces them. Once the job has ended, succeeded
or failed, its uploaded file is deleted.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator

from django.conf import settings
from django.db import transaction

from apps.datasets.import_runs import rare_young_collections
from apps.datasets.importers.records import FileRejected
from apps.jobs.events import append_event
from apps.jobs.lifecycle import finish_job, hold_job
from apps.jobs.models import JobStatus
from apps.predictions.files.coco_results import CocoResults, check_categories
from apps.predictions.files.errors import PredictionFileError
from apps.predictions.files.grouping import RecordGroup, RecordsByRow
from apps.predictions.files.jsonl import PredictionsJsonl
from apps.predictions.files.rows import assign, rows_named
from apps.predictions.models import (
    PREDICTION_IMPORT_KIND,
    PredictionFileFormat,
    PredictionImport,
    PredictionSource,
)
from apps.predictions.writer import replace_predictions
from apps.training.models import ModelVersion
from loupe.storage.files import delete_files, local_copy
from search.outbox import request_drain

logger = logging.getLogger(__name__)

KIND = PREDICTION_IMPORT_KIND
COUNTERS = ("records_done", "rows_matched", "predictions_written", "failed")


def run_prediction_import(
    *, job_id: int, on_progress: Callable[[PredictionImport], None] | None = None
) -> str | None:
    """Run or resume the import; returns its status (as it stands when it has finished or
    another worker holds it; None for a job that is not there). Idempotent: a finished
    import is left as it is. `on_progress(job)` is called after each committed batch.
    Anything unforeseen fails the job (and is raised again); if even that cannot be
    written, the database being gone, the job stays running, for the sweep to send again."""
    with hold_job(KIND, job_id) as held:
        if held is None:
            job = PredictionImport.objects.using("default").filter(pk=job_id).first()
            return job.status if job else None
        job = (
            PredictionImport.objects.using("default")
            .select_related("model_version__model")
            .get(pk=job_id)
        )
        started = time.perf_counter()
        try:
            _run(job, on_progress)
        except FileRejected as exc:
            _fail(job, f"{exc.code}: {exc.message}")
        except Exception as exc:
            _fail(
                job,
                f"{PredictionFileError.INTERNAL_ERROR}: the import stopped unexpectedly "
                f"({type(exc).__name__})",
            )
            raise
        logger.info(
            "prediction import ended",
            extra={
                "prediction_import": job.pk,
                "status": job.status,
                "records": job.records_done,
                "seconds": round(time.perf_counter() - started, 2),
            },
        )
        return job.status


def _run(job: PredictionImport, on_progress) -> None:
    with tempfile.TemporaryDirectory(prefix=f"prediction-import-{job.pk}-") as scratch:
        store = RecordsByRow(os.path.join(scratch, "records.sqlite3"))
        try:
            _read(job, store)
            groups = store.groups()
            for batch in _batches(groups, skip=job.records_done, size=settings.IMPORT_BATCH_SIZE):
                _commit_batch(job, batch)
                if on_progress is not None:
                    on_progress(job)
        finally:
            store.close()
    if job.rows_matched == 0 and job.failed:
        _fail(
            job,
            f"{PredictionFileError.NO_ROWS_MATCHED}: none of the file's {job.records_done} "
            "records could be imported; see errors",
        )
    else:
        finish_job(job, KIND, JobStatus.SUCCEEDED, data=_counters(job))
        delete_files([job.file_name])


def _read(job: PredictionImport, store: RecordsByRow) -> None:
    """The whole file into the store; raises FileRejected before anything is written."""
    started = time.perf_counter()
    with local_copy(job.file_name) as path, rare_young_collections():
        records = store.add(_parser(job, path).iter_records())
    logger.info(
        "prediction file read",
        extra={
            "prediction_import": job.pk,
            "records": records,
            "seconds": round(time.perf_counter() - started, 2),
        },
    )


def _parser(job: PredictionImport, path: str) -> PredictionsJsonl | CocoResults:
    task = job.model_version.model.task
    if job.format == PredictionFileFormat.JSONL:
        return PredictionsJsonl(path, task=task)
    return CocoResults(path, task=task, categories=check_categories(job.categories))


def _batches(groups: Iterable[RecordGroup], *, skip: int, size: int) -> Iterator[list[RecordGroup]]:
    """Whole rows' groups, at least `size` records a batch (the last one fewer), after the
    first `skip` records."""
    batch: list[RecordGroup] = []
    records = 0
    for group in _after(groups, skip):
        batch.append(group)
        records += len(group.records)
        if records >= size:
            yield batch
            batch, records = [], 0
    if batch:
        yield batch


def _after(groups: Iterable[RecordGroup], skip: int) -> Iterator[RecordGroup]:
    """The groups after the first `skip` records, which an earlier attempt committed: whole
    groups, as batches are (a group that began there would be written again, not lost)."""
    groups = iter(groups)
    done = 0
    for group in groups:
        if done + len(group.records) > skip:
            yield group
            break
        done += len(group.records)
    yield from groups


def _commit_batch(job: PredictionImport, batch: list[RecordGroup]) -> None:
    with transaction.atomic(using="default"):
        keys = [group.key for group in batch if group.key is not None]
        assignment = assign(batch, rows_named(dataset_id=job.dataset_id, keys=keys))
        written = 0
        if assignment.row_ids:
            written = replace_predictions(
                version_id=job.model_version_id,
                row_ids=assignment.row_ids,
                objects=assignment.objects,
                source=PredictionSource.IMPORT,
            )
            _add_classes(job.model_version, {obj.class_name for obj in assignment.objects})
            request_drain()
        job.records_done += sum(len(group.records) for group in batch)
        job.rows_matched += len(assignment.row_ids)
        job.predictions_written += written
        job.failed += len(assignment.errors)
        room = PredictionImport.MAX_ERRORS - len(job.errors)
        job.errors += [
            {"line": e.line, "field": e.field, "message": e.message}
            for e in assignment.errors[:room]
        ]
        job.save(update_fields=[*COUNTERS, "errors"])
        append_event(job, KIND, "batch.progress", _counters(job))


def _add_classes(version: ModelVersion, names: set[str]) -> None:
    """The version's classes gain the names it had not predicted before (sorted, after
    those it had), under a lock: two imports into one version may run at once."""
    if names <= set(version.classes):
        return
    locked = ModelVersion.objects.using("default").select_for_update().get(pk=version.pk)
    locked.classes += sorted(names - set(locked.classes))
    locked.save(update_fields=["classes"])
    version.classes = locked.classes


def _fail(job: PredictionImport, reason: str) -> None:
    """End the job as failed; its upload goes (as once it has succeeded)."""
    with transaction.atomic(using="default"):
        job.detail = reason
        job.save(update_fields=["detail"])
        finish_job(job, KIND, JobStatus.FAILED, error=reason, data=_counters(job))
    delete_files([job.file_name])


def _counters(job: PredictionImport) -> dict:
    return {name: getattr(job, name) for name in COUNTERS}
