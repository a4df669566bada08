"""Models and their versions: a run that succeeds registers the next version of its model."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast
from urllib.parse import quote

from loupe_client.api import Api
from loupe_client.pages import list_items
from loupe_client.shapes import Model, ModelVersion


class Models:
    def __init__(self, api: Api):
        self._api = api

    def list(self) -> Iterator[Model]:
        """Every model, by name."""
        return list_items(self._api, "models/", item=Model)

    def get(self, name: str) -> Model:
        return cast(Model, self._api.call("GET", f"models/{quote(name)}/"))

    def versions(self, name: str) -> Iterator[ModelVersion]:
        """The model's versions, newest first."""
        return list_items(self._api, f"models/{quote(name)}/versions/", item=ModelVersion)

    def get_version(self, version_id: int) -> ModelVersion:
        """A version by its id (a run's `model_version`), not by its number."""
        return cast(ModelVersion, self._api.call("GET", f"model-versions/{version_id}/"))

    def compare(self, name: str, *, slice: int, snapshot: int) -> dict[str, Any]:
        """The model's versions evaluated on one snapshot, side by side."""
        params = {"slice": slice, "snapshot": snapshot}
        return cast(
            dict[str, Any], self._api.call("GET", f"models/{quote(name)}/compare/", params=params)
        )
