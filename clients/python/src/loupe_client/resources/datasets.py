"""Datasets and their rows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

from loupe_client.api import Api
from loupe_client.pages import list_items
from loupe_client.shapes import DataRow, Dataset

MAX_ROWS_PAGE = 1000


class Datasets:
    def __init__(self, api: Api):
        self._api = api

    def list(self, *, project: int | None = None) -> Iterator[Dataset]:
        """Every dataset (of one project, when given), newest first."""
        return list_items(self._api, "datasets/", {"project": project}, item=Dataset)

    def get(self, dataset_id: int) -> Dataset:
        return cast(Dataset, self._api.call("GET", f"datasets/{dataset_id}/"))

    def create(self, project: int, name: str, *, description: str = "") -> Dataset:
        body = {"project": project, "name": name, "description": description}
        return cast(Dataset, self._api.call("POST", "datasets/", json=body))

    def delete(self, dataset_id: int) -> None:
        self._api.call("DELETE", f"datasets/{dataset_id}/")

    def rows(self, dataset_id: int, *, page_size: int = 100) -> Iterator[DataRow]:
        """Every row of the dataset in id order, `page_size` (at most 1,000) a request,
        fetched as the loop reaches them."""
        params = {"page_size": min(page_size, MAX_ROWS_PAGE)}
        return list_items(self._api, f"datasets/{dataset_id}/rows/", params, item=DataRow)
