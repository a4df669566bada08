"""A run's start and end, as its worker records them (workers/engines/trainer.py calls these).

A run's first start fixes what it learns: the class list, the rows with a target, and the
seeded train/validation split, stored with the run; a resumed run reads them back. A run that
succeeds registers its model version in the same transaction that ends it.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max

from apps.jobs.events import append_event
from apps.jobs.lifecycle import finish_job
from apps.jobs.models import JobStatus
from apps.slices import row_ids, snapshot_ids
from apps.training.catalog import get_spec
from apps.training.errors import RunFailure
from apps.training.models import KIND, Model, ModelVersion, TrainingRun
from apps.training.runs import RunContext
from apps.training.specs import Task
from apps.training.targets import find_targets, split_rows


class RunCannotStart(Exception):
    def __init__(self, code: RunFailure, message: str):
        super().__init__(f"{code}: {message}")


def start_run(run: TrainingRun, *, device: str) -> RunContext:
    """Fix the run's targets and split on its first start (`run.started`), or announce its
    resume (`run.resumed`). Raises RunCannotStart when its rows give nothing to learn."""
    with transaction.atomic(using="default"):
        run.device = device
        if run.train_row_ids is None:
            _fix_targets(run)
            run.save(
                update_fields=[
                    "device", "classes", "split", "train_row_ids", "validation_row_ids",
                ]
            )  # fmt: skip
            append_event(
                run, KIND, "run.started", {"device": device, "classes": run.classes, **run.split}
            )
        else:
            run.save(update_fields=["device"])
            append_event(
                run,
                KIND,
                "run.resumed",
                {"epoch": run.epoch + 1, "position": run.position, "device": device},
            )
    return RunContext(run)


def _fix_targets(run: TrainingRun) -> None:
    spec = get_spec(run.spec)
    frozen = snapshot_ids.all_ids(run.snapshot)
    targets = find_targets(task=Task(spec.task), row_ids=frozen)
    if len(targets.row_ids) == 0:
        what = "whole-image label" if spec.task == Task.CLASSIFICATION else "bbox annotation"
        raise RunCannotStart(
            RunFailure.NO_TARGETS,
            f"none of the snapshot's {len(frozen)} rows has a {what} to learn",
        )
    if spec.task == Task.CLASSIFICATION and len(targets.classes) < 2:
        raise RunCannotStart(
            RunFailure.TOO_FEW_CLASSES,
            f"classification needs two classes or more; the rows hold {targets.classes}",
        )
    hp = run.hyperparameters
    train, validation = split_rows(
        targets.row_ids, seed=hp["seed"], validation_fraction=hp["validation_fraction"]
    )
    if len(train) == 0 or len(validation) == 0:
        train, validation = targets.row_ids, targets.row_ids[:0]
    run.classes = targets.classes
    run.train_row_ids = row_ids.encode(train.tolist())
    run.validation_row_ids = row_ids.encode(validation.tolist())
    run.split = {
        "seed": hp["seed"],
        "validation_fraction": hp["validation_fraction"],
        "train_rows": len(train),
        "validation_rows": len(validation),
        "skipped_rows": targets.skipped,
    }


def complete_run(context: RunContext, *, artifact: str, metrics: dict) -> ModelVersion:
    """End the run as succeeded and register its model version (numbered after the model's
    last), in one transaction."""
    run = context.run
    with transaction.atomic(using="default"):
        model, _ = Model.objects.using("default").get_or_create(
            name=run.model_name, defaults={"task": context.spec.task}
        )
        Model.objects.using("default").select_for_update().filter(pk=model.pk).get()
        last = model.versions.aggregate(last=Max("version"))["last"] or 0
        version = ModelVersion.objects.using("default").create(
            model=model,
            version=last + 1,
            spec=run.spec,
            classes=run.classes,
            hyperparameters=run.hyperparameters,
            metrics=metrics,
            training_run=run,
            snapshot=run.snapshot,
            artifact=artifact,
        )
        run.metrics = metrics
        run.save(update_fields=["metrics"])
        finish_job(
            run,
            KIND,
            JobStatus.SUCCEEDED,
            data={"metrics": metrics, "model": model.name, "version": version.version,
                  "model_version": version.pk},
        )  # fmt: skip
    return version


def fail_run(run: TrainingRun, error: str) -> None:
    finish_job(run, KIND, JobStatus.FAILED, error=error)


def cancel_stopped_run(run: TrainingRun) -> None:
    """The worker stopped the run between batches, its checkpoint kept."""
    finish_job(run, KIND, JobStatus.CANCELLED, data={"epoch": run.epoch, "position": run.position})
