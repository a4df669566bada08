"""Projects: the top of a tenant's tree (a project holds datasets)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

from loupe_client.api import Api
from loupe_client.pages import list_items
from loupe_client.shapes import Project


class Projects:
    def __init__(self, api: Api):
        self._api = api

    def list(self) -> Iterator[Project]:
        """Every project, newest first."""
        return list_items(self._api, "projects/", item=Project)

    def get(self, project_id: int) -> Project:
        return cast(Project, self._api.call("GET", f"projects/{project_id}/"))

    def create(self, name: str, *, description: str = "") -> Project:
        """A new project (editor role). Names are unique in a tenant: Conflict
        (`project_name_taken`) when it is taken."""
        body = {"name": name, "description": description}
        return cast(Project, self._api.call("POST", "projects/", json=body))

    def update(
        self, project_id: int, *, name: str | None = None, description: str | None = None
    ) -> Project:
        body = {
            k: v for k, v in {"name": name, "description": description}.items() if v is not None
        }
        return cast(Project, self._api.call("PATCH", f"projects/{project_id}/", json=body))

    def delete(self, project_id: int) -> None:
        """Deletes the project and its datasets; Conflict (`in_use`) while training runs or
        model versions name its rows."""
        self._api.call("DELETE", f"projects/{project_id}/")
