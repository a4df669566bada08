"""Reads of projects (routed to the replica unless the unit of work has written)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from apps.projects.models import Project


def projects() -> QuerySet[Project]:
    return Project.objects.all()


def get_project(*, project_id: int) -> Project:
    """The project, or Http404 (also for ids of other tenants: they are not in this schema)."""
    return get_object_or_404(Project, pk=project_id)
