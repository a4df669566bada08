"""One data row: read it, change its metadata or tags, delete it, read what models predicted
on it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from loupe_client.api import Api
from loupe_client.shapes import DataRow, Prediction


class Rows:
    def __init__(self, api: Api):
        self._api = api

    def get(self, row_id: int) -> DataRow:
        return cast(DataRow, self._api.call("GET", f"rows/{row_id}/"))

    def update(
        self,
        row_id: int,
        *,
        metadata: dict[str, Any] | None = None,
        tags: Sequence[str] | None = None,
    ) -> DataRow:
        """Replaces the row's metadata and/or tags (the next import naming the row replaces
        them again)."""
        body: dict[str, Any] = {}
        if metadata is not None:
            body["metadata"] = metadata
        if tags is not None:
            body["tags"] = list(tags)
        return cast(DataRow, self._api.call("PATCH", f"rows/{row_id}/", json=body))

    def delete(self, row_id: int) -> None:
        self._api.call("DELETE", f"rows/{row_id}/")

    def predictions(
        self, row_id: int, *, model: str | None = None, version: int | None = None
    ) -> list[Prediction]:
        """The row's predicted objects, newest version first, then best first."""
        params = {k: v for k, v in {"model": model, "version": version}.items() if v is not None}
        return cast(
            list[Prediction], self._api.call("GET", f"rows/{row_id}/predictions/", params=params)
        )
