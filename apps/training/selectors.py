"""Reads of training runs, their events and metrics, and the model registry."""

from __future__ import annotations

from django.db.models import Count, IntegerField, Max, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from apps.jobs.models import JobStatus
from apps.training.errors import TrainingErrorCode
from apps.training.models import EpochMetric, Model, ModelVersion, TrainingRun
from loupe.api.errors import ApiError


def _with_queue_position(runs: QuerySet[TrainingRun]) -> QuerySet[TrainingRun]:
    ahead = (
        TrainingRun.objects.filter(status=JobStatus.QUEUED, id__lt=OuterRef("id"))
        .order_by()
        .values("status")  # one group: the filter fixed it
        .annotate(n=Count("id"))
        .values("n")
    )
    return runs.annotate(queued_ahead=Coalesce(Subquery(ahead, output_field=IntegerField()), 0))


def training_runs(*, status: str | None = None, experiment: str | None = None):
    runs = TrainingRun.objects.select_related("snapshot", "model_version")
    if status:
        runs = runs.filter(status=status)
    if experiment:
        runs = runs.filter(experiment=experiment)
    return _with_queue_position(runs.defer("train_row_ids", "validation_row_ids"))


def get_run(*, run_id: int) -> TrainingRun:
    return get_object_or_404(training_runs(), pk=run_id)


def run_metrics(*, run: TrainingRun) -> dict:
    """Each per-epoch metric as a series over the epochs (null where an epoch lacks it)."""
    rows = list(EpochMetric.objects.filter(run=run).order_by("epoch").values("epoch", "metrics"))
    names = sorted({name for row in rows for name in row["metrics"]})
    return {
        "epochs": [row["epoch"] for row in rows],
        "series": {name: [row["metrics"].get(name) for row in rows] for name in names},
    }


def models() -> QuerySet[Model]:
    return Model.objects.annotate(
        latest_version=Max("versions__version"), version_count=Count("versions")
    )


def get_model(*, name: str) -> Model:
    return get_object_or_404(models(), name=name)


def versions_of(*, model: Model) -> QuerySet[ModelVersion]:
    return model.versions.select_related("model", "snapshot").order_by("-version")


def get_version(*, version_id: int) -> ModelVersion:
    return get_object_or_404(
        ModelVersion.objects.select_related("model", "snapshot"), pk=version_id
    )


def experiment_comparison(*, name: str) -> dict:
    """The experiment's runs side by side, in the order they were submitted: each run's
    hyperparameters, final metrics and per-epoch series, and for each hyperparameter its
    value per run and whether the runs differ on it. Two queries whatever the runs."""
    runs = list(
        TrainingRun.objects.filter(experiment=name)
        .select_related("snapshot", "model_version")
        .defer("train_row_ids", "validation_row_ids", "split", "classes")
        .order_by("id")
    )
    if not runs:
        raise ApiError(
            status=404,
            code=TrainingErrorCode.UNKNOWN_EXPERIMENT,
            detail=f"No run belongs to experiment {name!r}.",
        )
    epochs_of = {run.pk: [] for run in runs}
    for row in (
        EpochMetric.objects.filter(run__in=runs)
        .order_by("run_id", "epoch")
        .values_list("run_id", "epoch", "metrics")
    ):
        epochs_of[row[0]].append(row[1:])
    names = sorted({name for run in runs for name in run.hyperparameters})
    return {
        "experiment": name,
        "slice": runs[0].slice_id,
        "snapshot": runs[0].snapshot.number,
        "hyperparameters": [_compared(name, runs) for name in names],
        "runs": [_run_side(run, epochs_of[run.pk]) for run in runs],
    }


def _compared(hyperparameter: str, runs: list[TrainingRun]) -> dict:
    values = [run.hyperparameters.get(hyperparameter) for run in runs]
    return {
        "name": hyperparameter,
        "differs": any(value != values[0] for value in values),
        "values": values,
    }


def _run_side(run: TrainingRun, epochs: list[tuple[int, dict]]) -> dict:
    metric_names = sorted({name for _, metrics in epochs for name in metrics})
    version = getattr(run, "model_version", None)
    return {
        "id": run.pk,
        "name": run.name,
        "status": run.status,
        "spec": run.spec,
        "hyperparameters": run.hyperparameters,
        "metrics": run.metrics,
        "model_version": version.pk if version else None,
        "epochs": [epoch for epoch, _ in epochs],
        "series": {m: [metrics.get(m) for _, metrics in epochs] for m in metric_names},
        "created_at": run.created_at,
        "finished_at": run.finished_at,
    }
