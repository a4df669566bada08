"""Reads for prediction files: an import job, and a version's predictions for export (routed
to the replica unless the unit of work has written)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Q
from django.shortcuts import get_object_or_404

from apps.datasets.models import DataRow
from apps.predictions.models import Prediction, PredictionImport, PredictionSource

PAGE_SIZE = 2000


def get_prediction_import(*, job_id: int) -> PredictionImport:
    return get_object_or_404(
        PredictionImport.objects.select_related("model_version__model"), pk=job_id
    )


@dataclass(frozen=True)
class ExportedPrediction:
    row_id: int
    external_id: str
    class_name: str
    score: float
    rank: int | None
    geometry: dict | None


def exported_predictions(
    *, version_id: int, dataset_id: int | None = None
) -> Iterator[ExportedPrediction]:
    """The version's predictions (not an evaluation's markers) by row id, then id, on the
    rows of `dataset_id` if given: PAGE_SIZE at a time, each page after the last one's
    (row, id), so memory stays bounded and no page costs more than the first. A page's
    rows are read on their own: joined, Postgres would scan the rows from the first one for
    every page (it does not carry the page's bound across the join)."""
    predictions = (
        Prediction.objects.filter(model_version_id=version_id)
        .exclude(source=PredictionSource.EVALUATION)
        .order_by("data_row_id", "id")
        .values_list("id", "data_row_id", "class_name", "score", "rank", "geometry")
    )
    row_id = last_id = 0
    while True:
        # (row, id) > (row_id, last_id), spelt so the (version, row) index bounds the scan.
        after = Q(data_row_id__gt=row_id) | Q(id__gt=last_id)
        page = list(predictions.filter(after, data_row_id__gte=row_id)[:PAGE_SIZE])
        rows = DataRow.objects.filter(pk__in={row for _, row, *_ in page})
        if dataset_id is not None:
            rows = rows.filter(dataset_id=dataset_id)
        names = dict(rows.values_list("id", "external_id"))
        for _, row, *values in page:
            if row in names:
                yield ExportedPrediction(row, names[row], *values)
        if len(page) < PAGE_SIZE:
            return
        last_id, row_id = page[-1][0], page[-1][1]
