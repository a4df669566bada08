"""Reads of predictions, inference runs and evaluations (routed to the replica unless the
unit of work has written)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from apps.datasets.models import DataRow
from apps.jobs.models import JobStatus
from apps.predictions.models import Evaluation, InferenceRun, Prediction
from apps.training.models import Model


def predictions_of(
    *, row: DataRow, model: str | None = None, version: int | None = None
) -> QuerySet[Prediction]:
    """The row's predictions, by model version (newest first), then best first."""
    found = Prediction.objects.filter(data_row=row).select_related("model_version__model")
    if model:
        found = found.filter(model_version__model__name=model)
    if version is not None:
        found = found.filter(model_version__version=version)
    return found.order_by("-model_version_id", "rank", "-score", "id")


def _jobs(model, *, status: str | None, model_version: int | None) -> QuerySet:
    jobs = model.objects.select_related("snapshot", "model_version__model")
    if status:
        jobs = jobs.filter(status=status)
    if model_version:
        jobs = jobs.filter(model_version_id=model_version)
    return jobs


def inference_runs(*, status: str | None = None, model_version: int | None = None):
    return _jobs(InferenceRun, status=status, model_version=model_version)


def get_inference_run(*, run_id: int) -> InferenceRun:
    return get_object_or_404(inference_runs(), pk=run_id)


def evaluations(*, status: str | None = None, model_version: int | None = None):
    return _jobs(Evaluation, status=status, model_version=model_version)


def get_evaluation(*, evaluation_id: int) -> Evaluation:
    return get_object_or_404(evaluations(), pk=evaluation_id)


def compare_versions(*, model: Model, slice_id: int, snapshot: int) -> dict:
    """The model's versions evaluated on one snapshot, side by side: each with the figures
    of its latest successful evaluation there, oldest version first."""
    latest = (
        Evaluation.objects.filter(
            model_version__model=model,
            slice_id=slice_id,
            snapshot__number=snapshot,
            status=JobStatus.SUCCEEDED,
        )
        .select_related("model_version")
        .order_by("model_version__version", "-finished_at", "-id")
        .distinct("model_version__version")
    )
    return {
        "model": model.name,
        "task": model.task,
        "slice": slice_id,
        "snapshot": snapshot,
        "versions": [
            {
                "version": e.model_version.version,
                "model_version": e.model_version_id,
                "spec": e.model_version.spec,
                "evaluation": e.pk,
                "evaluated_at": e.finished_at,
                "metrics": e.metrics,
            }
            for e in latest
        ],
    }
