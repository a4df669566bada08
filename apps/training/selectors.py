"""Reads of training runs, their events and metrics, and the model registry."""

from __future__ import annotations

from django.db.models import Count, IntegerField, Max, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from apps.jobs.models import JobStatus
from apps.training.models import EpochMetric, Model, ModelVersion, TrainingRun


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
