"""Submitting and cancelling training runs."""

from __future__ import annotations

import re

from django.db import transaction

from apps.jobs.events import append_event
from apps.jobs.leases import hold_tenant_lock
from apps.jobs.lifecycle import finish_job
from apps.jobs.models import FINAL_STATUSES, JobStatus
from apps.jobs.sending import send_job_on_commit
from apps.slices.models import Slice, SliceSnapshot
from apps.slices.services import create_snapshot
from apps.training.catalog import get_spec, list_specs
from apps.training.errors import TrainingErrorCode
from apps.training.models import KIND, Model, ModelVersion, TrainingRun
from apps.training.specs import (
    Family,
    InvalidHyperparameters,
    ModelSpec,
    validate_hyperparameters,
)
from loupe.api.errors import ApiError
from tenants.activation import active_schema
from tenants.quotas import limits_for

# Model names appear in URLs and storage names.
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def _bad(code: TrainingErrorCode, detail: str, field: str, problem: str) -> ApiError:
    return ApiError(status=400, code=code, detail=detail, fields={field: [problem]})


def _spec(name: str) -> ModelSpec:
    spec = get_spec(name)
    if spec is None:
        known = ", ".join(s.name for s in list_specs())
        raise _bad(
            TrainingErrorCode.UNKNOWN_SPEC, f"No model spec {name!r}; known: {known}.", "spec",
            "unknown",
        )  # fmt: skip
    return spec


def _hyperparameters(spec: ModelSpec, values: dict) -> dict:
    try:
        return validate_hyperparameters(spec, values)
    except InvalidHyperparameters as exc:
        raise ApiError(
            status=400,
            code=TrainingErrorCode.INVALID_HYPERPARAMETERS,
            detail=f"Hyperparameters {spec.name} does not accept: {exc}.",
            fields={f"hyperparameters.{name}": problems for name, problems in exc.fields.items()},
        ) from None


# Inputs are read from the primary: a slice or version made a moment ago is found whatever
# the replica's lag.
def slice_and_snapshot(slice_id: int, number: int | None) -> tuple[Slice, SliceSnapshot | None]:
    """The slice and its snapshot numbered `number` (None: none named), or 400 naming the
    field. Jobs over a snapshot (training, inference, evaluation) read their input so."""
    slice = Slice.objects.using("default").filter(pk=slice_id).first()
    if slice is None:
        raise _bad(TrainingErrorCode.UNKNOWN_SLICE, f"No slice {slice_id}.", "slice", "unknown")
    if number is None:
        return slice, None
    snapshot = SliceSnapshot.objects.using("default").filter(slice=slice, number=number).first()
    if snapshot is None:
        raise _bad(
            TrainingErrorCode.UNKNOWN_SNAPSHOT,
            f"Slice {slice_id} has no snapshot {number}.",
            "snapshot",
            "unknown",
        )
    return slice, snapshot


def _parent(spec: ModelSpec, version_id: int | None) -> ModelVersion | None:
    if version_id is None:
        return None
    parent = ModelVersion.objects.using("default").filter(pk=version_id).first()
    if parent is None:
        raise _bad(
            TrainingErrorCode.UNKNOWN_PARENT_VERSION,
            f"No model version {version_id}.",
            "parent_version",
            "unknown",
        )
    if spec.family == Family.CLASSICAL:
        raise _bad(
            TrainingErrorCode.PARENT_NOT_SUPPORTED,
            f"{spec.name} trains from scratch; fine-tuning a parent version needs a deep spec.",
            "parent_version",
            "not supported by this spec",
        )
    if parent.spec != spec.name:
        raise _bad(
            TrainingErrorCode.PARENT_SPEC_MISMATCH,
            f"Version {version_id} is a {parent.spec}; it cannot warm-start a {spec.name}.",
            "parent_version",
            "another spec",
        )
    return parent


def submit_run(
    *,
    name: str,
    spec: str,
    slice: int,
    snapshot: int | None = None,
    model: str | None = None,
    hyperparameters: dict | None = None,
    experiment: str = "",
    parent_version: int | None = None,
    notify: bool = False,
    actor,
) -> TrainingRun:
    """Record a queued run and send it to the gpu queue once committed. Without `snapshot`
    (a number of the slice's), the slice is frozen into a new snapshot now, so a run always
    names the rows it trains on. Every input is checked first: a refused run (ApiError 400
    naming the field) stores nothing, no snapshot either."""
    model_spec = _spec(spec)
    values = _hyperparameters(model_spec, hyperparameters or {})
    model_name = model or model_spec.name
    if not MODEL_NAME.match(model_name):
        raise _bad(
            TrainingErrorCode.INVALID_MODEL_NAME,
            "A model name is 1-100 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit.",
            "model",
            "invalid",
        )
    registered = Model.objects.using("default").filter(name=model_name).first()
    if registered is not None and registered.task != model_spec.task:
        raise _bad(
            TrainingErrorCode.MODEL_TASK_MISMATCH,
            f"Model {model_name!r} is a {registered.task} model; {model_spec.name} does "
            f"{model_spec.task}. Name another model.",
            "model",
            "another task",
        )
    slice_obj, frozen = slice_and_snapshot(slice, snapshot)
    parent = _parent(model_spec, parent_version)
    with transaction.atomic():
        _check_room_for_a_run()
        frozen = _experiment_snapshot(experiment, slice_obj, frozen)
        frozen = frozen or create_snapshot(slice=slice_obj, actor=actor)
        if frozen.row_count == 0:  # raising rolls the new snapshot back too
            raise _bad(
                TrainingErrorCode.EMPTY_SNAPSHOT,
                f"Snapshot {frozen.number} of slice {slice_obj.pk} holds no rows.",
                "snapshot" if snapshot is not None else "slice",
                "empty",
            )
        run = TrainingRun.objects.create(
            name=name,
            spec=model_spec.name,
            hyperparameters=values,
            slice=slice_obj,
            snapshot=frozen,
            model_name=model_name,
            experiment=experiment,
            parent_version=parent,
            notify=notify,
            batch_size=values.get("batch_size"),
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        append_event(run, KIND, "run.queued", {"snapshot": frozen.number, "rows": frozen.row_count})
        send_job_on_commit(KIND, run.pk)
    return run


def _experiment_snapshot(
    experiment: str, slice_obj: Slice, named: SliceSnapshot | None
) -> SliceSnapshot | None:
    """The snapshot a run joining `experiment` trains on: the one its first run took, so the
    runs compare over the same rows (submissions take turns, _check_room_for_a_run). A run
    naming another slice or snapshot is refused (409); the first run's own goes as asked."""
    if not experiment:
        return named
    first = (
        TrainingRun.objects.using("default")
        .filter(experiment=experiment)
        .select_related("snapshot")
        .order_by("id")
        .first()
    )
    if first is None:
        return named
    if first.slice_id != slice_obj.pk or named not in (None, first.snapshot):
        raise ApiError(
            status=409,
            code=TrainingErrorCode.EXPERIMENT_SNAPSHOT_MISMATCH,
            detail=f"Experiment {experiment!r} compares runs over snapshot "
            f"{first.snapshot.number} of slice {first.slice_id}; submit with that slice (and "
            "that snapshot, or none), or name another experiment.",
        )
    return first.snapshot


def _check_room_for_a_run() -> None:
    """Call inside the submitting transaction: a tenant has at most its limit of training
    runs queued or running at once (submissions take turns, so two cannot both take the last
    place). Raises ApiError 429."""
    hold_tenant_lock("training-run-submissions")
    limit = limits_for(active_schema()).training_runs
    active = TrainingRun.objects.using("default").exclude(status__in=FINAL_STATUSES).count()
    if active >= limit:
        raise ApiError(
            status=429,
            code=TrainingErrorCode.TRAINING_RUN_LIMIT,
            detail=f"This tenant has {active} training runs queued or running, its limit "
            f"({limit}); wait for one to end, or cancel one.",
        )


def cancel_run(*, run: TrainingRun, actor) -> TrainingRun:
    """A queued run is cancelled at once and never starts; a running one is marked
    `cancelling` and its worker stops it after the current batch, keeping its checkpoint.
    Cancelling a run that is cancelling already changes nothing; a finished one is 409."""
    with transaction.atomic():
        run = TrainingRun.objects.using("default").select_for_update().get(pk=run.pk)
        if run.status in FINAL_STATUSES:
            raise ApiError(
                status=409,
                code=TrainingErrorCode.RUN_FINISHED,
                detail=f"Run {run.pk} has already {run.status}.",
            )
        if run.status == JobStatus.QUEUED:
            return finish_job(run, KIND, JobStatus.CANCELLED)
        if run.status == JobStatus.RUNNING:
            run.status = JobStatus.CANCELLING
            run.save(update_fields=["status"])
            append_event(run, KIND, "run.cancelling")
    return run
