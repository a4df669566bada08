"""Lazy iterators over the API's two kinds of pages. Nothing is fetched until the first item
is asked for, and each page only once the one before it is used up, so a loop that stops
early costs only the pages it read.

- List endpoints answer `{"next", "previous", "results"}`, `next` being the next page's full
  URL (null on the last page); a job's events answer `{"results", "next"}` the same way.
- Search, a slice's rows and a snapshot's rows answer `{"rows", "total", "next_cursor",
  "backend"}`; the next page is asked for with the cursor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar, cast

from loupe_client.api import Api
from loupe_client.shapes import DataRow, RowsPage

T = TypeVar("T")


def list_items(
    api: Api, path: str, params: Mapping[str, Any] | None = None, *, item: type[T]
) -> Iterator[T]:
    """Every item of a list endpoint, newest first (or as the endpoint orders them), fetched a
    page at a time. `item` is the type the items are given, for type checkers."""
    url: str | None = path
    query = {k: v for k, v in (params or {}).items() if v is not None}
    while url:
        # Only the first URL takes the query: the next one carries it (and httpx would
        # replace its query with any params given, even none).
        page = api.call("GET", url, params=query or None)
        yield from cast(list[T], page["results"])
        url, query = page["next"], {}


class RowPages:
    """The rows a search, a slice or a snapshot holds: iterate it for the rows (each pass
    starts again from the first page), read `total` for how many there are and `backend`
    for which store answered (`elasticsearch` or `postgres`)."""

    def __init__(self, fetch: Callable[[str | None], RowsPage]):
        self._fetch = fetch
        self._first: RowsPage | None = None

    @property
    def total(self) -> int:
        return self._first_page()["total"]

    @property
    def backend(self) -> str:
        return self._first_page()["backend"]

    def __iter__(self) -> Iterator[DataRow]:
        page = self._first_page()
        while True:
            yield from page["rows"]
            cursor = page["next_cursor"]
            if not cursor:
                return
            page = self._fetch(cursor)

    def _first_page(self) -> RowsPage:
        if self._first is None:
            self._first = self._fetch(None)
        return self._first
