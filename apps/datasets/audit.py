"""Audit entries for deleted datasets (tenants/audit), each with its name and row count."""

from __future__ import annotations

from django.db.models import Count

from apps.datasets.models import DataRow, Dataset
from apps.projects.models import Project
from tenants.audit.models import AuditAction
from tenants.audit.record import counted, record


def record_deleted_datasets(*, dataset_ids: list[int], project: Project | None = None) -> int:
    """One `dataset.deleted` entry per dataset, naming the `project` whose deletion takes it
    when there is one; the number of rows they hold in all. Call it inside the transaction
    that deletes them, before their rows go."""
    counts = dict(
        DataRow.objects.filter(dataset_id__in=dataset_ids)
        .values("dataset_id")
        .annotate(rows=Count("id"))
        .values_list("dataset_id", "rows")
    )
    with_project = f", with project {project.name}" if project is not None else ""
    for dataset in Dataset.objects.filter(pk__in=dataset_ids).order_by("pk"):
        record(
            action=AuditAction.DATASET_DELETED,
            target_id=dataset.pk,
            detail=f"{dataset.name} ({counted(counts.get(dataset.pk, 0), 'row')}){with_project}",
        )
    return sum(counts.values())
