"""Changes to datasets, data rows and annotations made one at a time (imports are in
imports.py)."""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet

from apps.datasets.audit import record_deleted_datasets
from apps.datasets.errors import DatasetErrorCode
from apps.datasets.media import delete_datasets_on_commit, delete_with_rows_on_commit
from apps.datasets.models import Annotation, DataRow, Dataset, ImportJob, ImportStatus
from apps.projects.models import Project
from loupe.api.errors import ApiError
from loupe.storage.files import delete_on_commit
from search.outbox import request_drain


def create_dataset(*, project_id: int, name: str, description: str = "", actor) -> Dataset:
    """Raises ApiError 400 for an unknown project, 409 for a name taken in the project."""
    if not Project.objects.filter(pk=project_id).exists():
        raise ApiError(
            status=400,
            code=DatasetErrorCode.UNKNOWN_PROJECT,
            detail=f"No project {project_id} in this tenant.",
            fields={"project": ["unknown"]},
        )
    try:
        with transaction.atomic():
            return Dataset.objects.create(project_id=project_id, name=name, description=description)
    except IntegrityError as exc:
        raise ApiError(
            status=409,
            code=DatasetErrorCode.NAME_TAKEN,
            detail=f"The project has a dataset named {name!r}; choose another name.",
            fields={"name": ["taken"]},
        ) from exc


def delete_dataset(*, dataset: Dataset, actor) -> None:
    """Deletes the dataset, its rows, annotations, imports and slices, in one transaction
    that also records it in the audit log, and once committed its files in storage."""
    with transaction.atomic():
        record_deleted_datasets(dataset_ids=[dataset.pk])
        delete_rows_of(dataset_ids=[dataset.pk])
        dataset.delete()
    request_drain()


def delete_rows_of(*, dataset_ids: list[int]) -> None:
    """Deletes the datasets' rows and annotations by two statements: Django's cascade would
    load every row into memory first, and a dataset holds millions. Once the caller's
    transaction commits (it deletes the datasets themselves), their files in storage go:
    every media file stored for them, and the uploads of imports not yet run."""
    uploads = ImportJob.objects.filter(
        dataset_id__in=dataset_ids,
        source_uri="",
        status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING],
    )
    delete_on_commit(names=list(uploads.values_list("file_name", flat=True)))
    delete_datasets_on_commit(dataset_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {Annotation._meta.db_table} AS a USING {DataRow._meta.db_table} AS r"
            " WHERE a.data_row_id = r.id AND r.dataset_id = ANY(%s)",
            [dataset_ids],
        )
        cursor.execute(
            f"DELETE FROM {DataRow._meta.db_table} WHERE dataset_id = ANY(%s)", [dataset_ids]
        )


def update_row(
    *, row: DataRow, actor, metadata: dict | None = None, tags: list[str] | None = None
) -> DataRow:
    """Replace a row's metadata and/or tags. Clears its content digest, so the next import of
    the row's file writes it again rather than calling it unchanged."""
    fields = ["content_hash", "updated_at"]
    if metadata is not None:
        row.metadata = metadata
        fields.append("metadata")
    if tags is not None:
        row.tags = tags
        fields.append("tags")
    row.content_hash = ""
    row.save(update_fields=fields)
    request_drain()
    return row


def delete_row(*, row: DataRow, actor) -> None:
    """Deletes the row and its annotations, and once committed the stored media only it named."""
    delete_rows(rows=DataRow.objects.filter(pk=row.pk), actor=actor)


def delete_rows(*, rows: QuerySet[DataRow], actor) -> None:
    """Deletes the rows and their annotations in one transaction, and once committed the
    stored media that only they named (never media outside their dataset's own folder)."""
    with transaction.atomic():
        delete_with_rows_on_commit(list(rows.values_list("dataset_id", "media_uri")))
        rows.delete()
    request_drain()


def create_annotation(*, row: DataRow, actor, **fields) -> Annotation:
    with transaction.atomic():
        annotation = Annotation.objects.create(data_row=row, **fields)
        DataRow.objects.filter(pk=row.pk).update(content_hash="")
    request_drain()
    return annotation


def update_annotation(*, annotation: Annotation, actor, **fields) -> Annotation:
    with transaction.atomic():
        for name, value in fields.items():
            setattr(annotation, name, value)
        annotation.save(update_fields=[*fields, "updated_at"])
        DataRow.objects.filter(pk=annotation.data_row_id).update(content_hash="")
    request_drain()
    return annotation


def delete_annotation(*, annotation: Annotation, actor) -> None:
    with transaction.atomic():
        DataRow.objects.filter(pk=annotation.data_row_id).update(content_hash="")
        annotation.delete()
    request_drain()
