"""Search over a tenant's rows in the query language (docs/query-language.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from loupe_client.api import Api
from loupe_client.pages import RowPages
from loupe_client.shapes import RowsPage


class Search:
    """`client.search(query)` for the rows, `client.search.count(query)` for how many."""

    def __init__(self, api: Api):
        self._api = api

    def __call__(
        self,
        query: str = "",
        *,
        datasets: Sequence[int] | None = None,
        page_size: int = 100,
        backend: str = "auto",
    ) -> RowPages:
        """The rows the query matches (every row for an empty one), in id order, fetched a
        page of `page_size` (at most 1,000) at a time as the loop reaches them; `total` says
        how many there are. `datasets` limits it to those; `backend` is `auto`,
        `elasticsearch` or `postgres`. A query that does not parse raises ValidationError
        with its `code`, and `extra["line"]`, `extra["column"]`."""
        body = _body(query, datasets, backend) | {"page_size": page_size}

        def fetch(cursor: str | None) -> RowsPage:
            paged = body if cursor is None else body | {"cursor": cursor}
            return cast(RowsPage, self._api.call("POST", "search/", json=paged))

        return RowPages(fetch)

    def count(
        self, query: str = "", *, datasets: Sequence[int] | None = None, backend: str = "auto"
    ) -> int:
        answer = self._api.call("POST", "search/count/", json=_body(query, datasets, backend))
        return int(answer["count"])

    def fields(self) -> dict[str, Any]:
        """The fields a query may name, with their kinds and operators, and the metadata keys
        seen."""
        return cast(dict[str, Any], self._api.call("GET", "search/fields/"))


def _body(query: str, datasets: Sequence[int] | None, backend: str) -> dict[str, Any]:
    body: dict[str, Any] = {"query": query, "backend": backend}
    if datasets is not None:
        body["datasets"] = list(datasets)
    return body
