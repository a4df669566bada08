"""Changes to projects."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from apps.datasets.audit import record_deleted_datasets
from apps.datasets.services import delete_rows_of
from apps.projects.errors import ProjectErrorCode
from apps.projects.models import Project
from loupe.api.errors import ApiError
from search.outbox import request_drain
from tenants.activation import active_schema
from tenants.audit.models import AuditAction
from tenants.audit.record import counted, record
from tenants.realtime import publish


def _name_taken(name: str) -> ApiError:
    return ApiError(
        status=409,
        code=ProjectErrorCode.NAME_TAKEN,
        detail=f"A project named {name!r} exists; choose another name.",
        fields={"name": ["taken"]},
    )


def create_project(*, name: str, description: str = "", actor) -> Project:
    """Create a project in the active tenant and announce it on the tenant's event feed
    once committed. Raises ApiError(409) when the name is taken."""
    try:
        with transaction.atomic():
            project = Project.objects.create(name=name, description=description, created_by=actor)
    except IntegrityError as exc:
        raise _name_taken(name) from exc
    schema = active_schema()
    transaction.on_commit(
        lambda: publish(
            schema, "events", event={"type": "project.created", "id": project.pk, "name": name}
        )
    )
    return project


def update_project(*, project: Project, actor, **changes) -> Project:
    """Change a project's name or description. Raises ApiError(409) when the name is taken."""
    for field, value in changes.items():
        setattr(project, field, value)
    try:
        with transaction.atomic():
            project.save(update_fields=[*changes, "updated_at"])
    except IntegrityError as exc:
        raise _name_taken(changes.get("name", project.name)) from exc
    return project


def delete_project(*, project: Project, actor) -> None:
    """Deletes the project and its datasets with all they hold, in one transaction that also
    records the project's deletion and each of its datasets' in the audit log."""
    with transaction.atomic():
        dataset_ids = list(project.datasets.values_list("id", flat=True))
        rows = record_deleted_datasets(dataset_ids=dataset_ids, project=project)
        held = f"{counted(len(dataset_ids), 'dataset')}, {counted(rows, 'row')}"
        record(
            action=AuditAction.PROJECT_DELETED,
            target_id=project.pk,
            detail=f"{project.name} ({held})",
        )
        delete_rows_of(dataset_ids=dataset_ids)
        project.delete()
    request_drain()
