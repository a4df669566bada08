"""Submitting and cancelling inference runs and evaluations."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.jobs.events import append_event
from apps.jobs.kinds import kind_named
from apps.jobs.lifecycle import finish_job
from apps.jobs.models import FINAL_STATUSES, Job, JobStatus
from apps.jobs.sending import send_job_on_commit
from apps.predictions import evaluations
from apps.predictions.errors import PredictionErrorCode
from apps.predictions.models import EVALUATION_KIND, INFERENCE_KIND, Evaluation, InferenceRun
from apps.slices.models import Slice, SliceSnapshot
from apps.slices.services import create_snapshot
from apps.training.models import ModelVersion
from apps.training.services import slice_and_snapshot
from loupe.api.errors import ApiError

logger = logging.getLogger(__name__)

# A version imported from a file has predictions but no model to run.
EXTERNAL_SPEC = "external"


def _bad(code: PredictionErrorCode, detail: str, field: str, problem: str) -> ApiError:
    return ApiError(status=400, code=code, detail=detail, fields={field: [problem]})


def _version(version_id: int) -> ModelVersion:
    version = (
        ModelVersion.objects.using("default").select_related("model").filter(pk=version_id).first()
    )
    if version is None:
        raise _bad(
            PredictionErrorCode.UNKNOWN_MODEL_VERSION,
            f"No model version {version_id}.",
            "model_version",
            "unknown",
        )
    return version


def _frozen(slice_id: int, number: int | None, actor) -> tuple[Slice, SliceSnapshot]:
    """The named snapshot, or the slice frozen now. Call inside the job's transaction, so a
    refusal stores no snapshot."""
    slice, snapshot = slice_and_snapshot(slice_id, number)
    snapshot = snapshot or create_snapshot(slice=slice, actor=actor)
    if snapshot.row_count == 0:
        raise _bad(
            PredictionErrorCode.EMPTY_SNAPSHOT,
            f"Snapshot {snapshot.number} of slice {slice.pk} holds no rows.",
            "snapshot" if number is not None else "slice",
            "empty",
        )
    return slice, snapshot


def _creator(actor):
    return actor if getattr(actor, "pk", None) else None


def submit_inference(
    *, model_version: int, slice: int, snapshot: int | None = None, notify: bool = False, actor
) -> InferenceRun:
    """Record a queued inference run of a version over a snapshot's rows and send it to the
    gpu queue once committed (without `snapshot`, the slice is frozen now)."""
    version = _version(model_version)
    if version.spec == EXTERNAL_SPEC:
        raise _bad(
            PredictionErrorCode.NOT_RUNNABLE,
            f"{version} was imported from a file of predictions; it has no model to run.",
            "model_version",
            "imported",
        )
    with transaction.atomic():
        slice_obj, frozen = _frozen(slice, snapshot, actor)
        run = InferenceRun.objects.create(
            model_version=version,
            slice=slice_obj,
            snapshot=frozen,
            chunk_size=settings.INFERENCE_CHUNK_ROWS,
            batch_size=settings.INFERENCE_BATCH_SIZE,
            rows_total=frozen.row_count,
            notify=notify,
            created_by=_creator(actor),
        )
        append_event(
            run,
            INFERENCE_KIND,
            "inference.queued",
            {"snapshot": frozen.number, "rows": frozen.row_count, "model_version": version.pk},
        )
        send_job_on_commit(INFERENCE_KIND, run.pk)
    return run


def submit_evaluation(
    *, model_version: int, slice: int, snapshot: int | None = None, notify: bool = False, actor
) -> Evaluation:
    """Record an evaluation of a version's predictions on a snapshot's rows. One of at most
    EVALUATION_INLINE_ROWS rows runs now and comes back finished; a larger one is a job on
    the default queue."""
    version = _version(model_version)
    with transaction.atomic():
        slice_obj, frozen = _frozen(slice, snapshot, actor)
        inline = frozen.row_count <= settings.EVALUATION_INLINE_ROWS
        evaluation = Evaluation.objects.create(
            model_version=version,
            slice=slice_obj,
            snapshot=frozen,
            task=version.model.task,
            rows_total=frozen.row_count,
            notify=notify,
            created_by=_creator(actor),
            sent_at=timezone.now() if inline else None,  # run here: no task to send
        )
        append_event(
            evaluation,
            EVALUATION_KIND,
            "evaluation.queued",
            {"snapshot": frozen.number, "rows": frozen.row_count, "model_version": version.pk},
        )
        if not inline:
            send_job_on_commit(EVALUATION_KIND, evaluation.pk)
    if inline:
        try:
            evaluations.run_evaluation(evaluation.pk)
        except Exception:
            # Stored as failed, with its error, by the evaluation itself: answered as it is.
            logger.exception("evaluation failed", extra={"evaluation": evaluation.pk})
        evaluation.refresh_from_db()
    return evaluation


def cancel_job(*, job: Job, kind: str) -> Job:
    """A queued job is cancelled at once and never starts; a running one is marked
    `cancelling` and its worker stops it at the next chunk. Cancelling one that is cancelling
    already changes nothing; a finished one is 409."""
    prefix = kind_named(kind).event_prefix
    with transaction.atomic():
        job = type(job).objects.using("default").select_for_update().get(pk=job.pk)
        if job.status in FINAL_STATUSES:
            raise ApiError(
                status=409,
                code=PredictionErrorCode.JOB_FINISHED,
                detail=f"{kind.replace('_', ' ').capitalize()} {job.pk} has already {job.status}.",
            )
        if job.status == JobStatus.QUEUED:
            return finish_job(job, kind, JobStatus.CANCELLED)
        if job.status == JobStatus.RUNNING:
            job.status = JobStatus.CANCELLING
            job.save(update_fields=["status"])
            append_event(job, kind, f"{prefix}.cancelling")
    return job
