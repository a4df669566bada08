"""Slices (a saved query over one dataset) and their snapshots (the rows frozen at a moment,
which training runs, inference runs and evaluations name)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from loupe_client.api import Api
from loupe_client.pages import RowPages, list_items
from loupe_client.shapes import RowsPage, Slice, Snapshot


class Slices:
    def __init__(self, api: Api):
        self._api = api

    def create(self, name: str, *, dataset: int, query: str = "") -> Slice:
        """A slice of the dataset's rows the query matches (all of them for an empty one);
        ValidationError for a query that does not parse."""
        body = {"name": name, "dataset": dataset, "query": query}
        return cast(Slice, self._api.call("POST", "slices/", json=body))

    def get(self, slice_id: int) -> Slice:
        return cast(Slice, self._api.call("GET", f"slices/{slice_id}/"))

    def list(self, *, dataset: int | None = None) -> Iterator[Slice]:
        return list_items(self._api, "slices/", {"dataset": dataset}, item=Slice)

    def update(self, slice_id: int, *, name: str | None = None, query: str | None = None) -> Slice:
        body = {k: v for k, v in {"name": name, "query": query}.items() if v is not None}
        return cast(Slice, self._api.call("PATCH", f"slices/{slice_id}/", json=body))

    def delete(self, slice_id: int) -> None:
        """Conflict (`in_use`) while a run or a version names one of its snapshots."""
        self._api.call("DELETE", f"slices/{slice_id}/")

    def rows(self, slice_id: int, *, page_size: int = 100) -> RowPages:
        """The rows the slice's query matches now, in id order, a page at a time."""
        return self._rows(f"slices/{slice_id}/rows/", page_size)

    def count(self, slice_id: int) -> int:
        return int(self._api.call("GET", f"slices/{slice_id}/count/")["count"])

    def snapshot(self, slice_id: int) -> Snapshot:
        """Freezes the rows the slice matches now into its next snapshot."""
        return cast(Snapshot, self._api.call("POST", f"slices/{slice_id}/snapshots/"))

    def snapshots(self, slice_id: int) -> Iterator[Snapshot]:
        return list_items(self._api, f"slices/{slice_id}/snapshots/", item=Snapshot)

    def get_snapshot(self, slice_id: int, number: int) -> Snapshot:
        return cast(Snapshot, self._api.call("GET", f"slices/{slice_id}/snapshots/{number}/"))

    def snapshot_rows(self, slice_id: int, number: int, *, page_size: int = 100) -> RowPages:
        """The snapshot's rows as they are now (a row deleted since is gone), in id order."""
        return self._rows(f"slices/{slice_id}/snapshots/{number}/rows/", page_size)

    def _rows(self, path: str, page_size: int) -> RowPages:
        def fetch(cursor: str | None) -> RowsPage:
            params: dict[str, Any] = {"page_size": page_size}
            if cursor is not None:
                params["cursor"] = cursor
            return cast(RowsPage, self._api.call("GET", path, params=params))

        return RowPages(fetch)
