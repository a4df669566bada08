"""Reads of datasets, rows, annotations and import jobs (routed to the replica unless the
unit of work has written)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from apps.datasets.models import Annotation, DataRow, Dataset, ImportJob


def datasets(*, project_id: int | None = None) -> QuerySet[Dataset]:
    queryset = Dataset.objects.all()
    return queryset if project_id is None else queryset.filter(project_id=project_id)


def get_dataset(*, dataset_id: int) -> Dataset:
    return get_object_or_404(Dataset, pk=dataset_id)


def row_ids_of(*, dataset: Dataset) -> QuerySet[DataRow]:
    """The dataset's rows, their ids alone: a page of them is rendered by Postgres."""
    return DataRow.objects.filter(dataset=dataset).only("id")


def get_row(*, row_id: int) -> DataRow:
    return get_object_or_404(DataRow.objects.prefetch_related("annotations"), pk=row_id)


def get_annotation(*, annotation_id: int) -> Annotation:
    return get_object_or_404(Annotation, pk=annotation_id)


def imports_of(*, dataset: Dataset) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(dataset=dataset)


def get_import(*, job_id: int) -> ImportJob:
    return get_object_or_404(ImportJob, pk=job_id)
