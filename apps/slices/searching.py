"""Search: row ids from Elasticsearch (or from Postgres where Elasticsearch is not there),
rows from Postgres, in the backend's order (by id), paged with a cursor.

A page is a keyset read after the cursor's id (search_after in Elasticsearch, `id >` in
Postgres), never an offset. The first page counts every match for its total, and its cursor
carries that total on, so a later page reads its rows alone: counting ten million matches
again on every page would cost more than the page.

Elasticsearch serves when it is configured, healthy and holds the tenant's index; Postgres
otherwise, and also when Elasticsearch fails mid-search. The answer names its backend.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np
import orjson
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet
from elasticsearch import ApiError as ElasticsearchApiError
from elasticsearch import BadRequestError, TransportError

from apps.datasets.models import DataRow
from apps.datasets.rendered_rows import rendered_rows
from apps.slices.errors import SliceErrorCode
from loupe.api.errors import ApiError
from loupe.db.router import read_alias
from search import elastic, outbox
from search.query.errors import QueryErrorCode
from search.query.to_elasticsearch import compile_to_elasticsearch
from search.query.to_postgres import compile_to_postgres
from search.query.tree import Node

logger = logging.getLogger(__name__)
# Elasticsearch's client raises TransportError for a failed connection and ApiError for an
# answer with an error status; either way Postgres can answer.
ELASTICSEARCH_ERRORS = (TransportError, ElasticsearchApiError)


class Backend(StrEnum):
    AUTO = "auto"
    ELASTICSEARCH = "elasticsearch"
    POSTGRES = "postgres"


@dataclass(frozen=True)
class SearchPage:
    backend: Backend
    total: int
    rows: list[orjson.Fragment]  # as the API renders them: apps.datasets.rendered_rows
    next_cursor: str | None
    # Elasticsearch only: changes are still on their way to the index, so the answer may
    # miss the newest of them (Postgres always answers from the rows themselves).
    index_pending: bool = False


def search(
    *, node: Node | None, page_size: int, cursor: str | None, backend: Backend
) -> SearchPage:
    """One page of the rows `node` matches, ordered by id. Raises ApiError for a bad cursor,
    or (503) when Elasticsearch was asked for by name and cannot answer."""
    position = decode_cursor(cursor)
    after = position.after if position else None
    counted = position.total if position else None
    served, indexed = backend_for(backend)
    if not indexed:
        # Nothing indexed, nothing found; index_pending says whether rows are on their way.
        return SearchPage(served, 0, [], None, index_pending=index_pending())
    if served == Backend.ELASTICSEARCH:
        try:
            # One id more than the page: whether a next page exists, without a second call.
            page = elastic.search_ids(
                compile_to_elasticsearch(node),
                size=page_size + 1,
                after=after,
                count_total=counted is None,
            )
        except ELASTICSEARCH_ERRORS as exc:
            served = fall_back(backend, exc)
        else:
            total = page.total if counted is None else counted
            found = _page(served, page.ids, total, page_size)
            return replace(found, index_pending=index_pending())
    matching = _matching(node)
    after_filter = matching if after is None else matching.filter(pk__gt=after)
    ids = list(after_filter.order_by("pk").values_list("pk", flat=True)[: page_size + 1])
    total = matching.count() if counted is None else counted
    return _page(served, ids, total, page_size)


@dataclass(frozen=True)
class RowCount:
    backend: Backend
    count: int
    index_pending: bool = False  # as for a page: Elasticsearch may miss the newest changes


def count(*, node: Node | None, backend: Backend) -> RowCount:
    served, indexed = backend_for(backend)
    if not indexed:
        return RowCount(served, 0, index_pending())
    if served == Backend.ELASTICSEARCH:
        try:
            found = elastic.count(compile_to_elasticsearch(node))
        except ELASTICSEARCH_ERRORS as exc:
            served = fall_back(backend, exc)
        else:
            return RowCount(served, found, index_pending())
    return RowCount(served, _matching(node).count())


def all_ids(*, node: Node | None) -> np.ndarray:
    """Every matching row id, sorted, from Postgres (the source of truth: a snapshot must not
    miss a row the index has not caught up with). Postgres packs them into one bytea, 8 bytes
    an id, that numpy reads whole: no Python int per row, which at millions of rows was most
    of a snapshot's cost. No ORDER BY: Postgres takes its quickest scan and numpy sorts."""
    queryset = _matching(node).order_by().values_list("pk", flat=True)
    using = queryset.db
    try:
        sql, params = queryset.query.get_compiler(using).as_sql()
    except EmptyResultSet:  # a query Django knows matches nothing (`width = 1.5`)
        return np.empty(0, dtype=np.int64)
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"SELECT string_agg(int8send(m.id), ''::bytea) FROM ({sql}) AS m(id)", params
        )
        (packed,) = cursor.fetchone()
    ids = np.frombuffer(packed or b"", dtype=">i8").astype(np.int64)
    ids.sort()
    return ids


def index_pending() -> bool:
    """Whether changes are still on their way to the index, read where the answer's rows are
    read (the primary for a reader pinned to it, the replica otherwise): one connection a
    request, not a second one for this."""
    return outbox.has_entries(using=read_alias())


def _matching(node: Node | None) -> QuerySet[DataRow]:
    return DataRow.objects.filter(compile_to_postgres(node))


def backend_for(asked: Backend) -> tuple[Backend, bool]:
    """The backend that answers, and whether it holds an index to ask. Elasticsearch asked
    for by name answers for a tenant none of whose rows it has indexed yet (it has no index
    until its first drain): it finds nothing."""
    if asked == Backend.POSTGRES:
        return Backend.POSTGRES, True
    state = elastic.index_state()
    if state == elastic.IndexState.READY:
        return Backend.ELASTICSEARCH, True
    if asked == Backend.ELASTICSEARCH:
        if state == elastic.IndexState.NOT_CREATED:
            return Backend.ELASTICSEARCH, False
        raise _unavailable("Elasticsearch is not available for this tenant")
    return Backend.POSTGRES, True


def fall_back(asked: Backend, exc: Exception) -> Backend:
    """Postgres answers when Elasticsearch fails, unless Elasticsearch was asked for."""
    if asked != Backend.ELASTICSEARCH:
        logger.warning("search fell back to postgres", extra={"reason": str(exc)[:300]})
        return Backend.POSTGRES
    if isinstance(exc, BadRequestError) and _too_complex(exc):
        raise ApiError(
            status=400,
            code=QueryErrorCode.QUERY_TOO_COMPLEX,
            detail=f"Elasticsearch refuses this query ({exc.message}); simplify it or ask "
            "for backend 'postgres'.",
        )
    raise _unavailable(f"Elasticsearch failed: {exc}")


# What Elasticsearch answers for a query past its own limits; any other refusal (a closed
# index, a mapping it cannot use) is the index failing, not the user's query.
_TOO_COMPLEX_CAUSES = frozenset(
    {"too_many_clauses", "too_many_nested_clauses", "too_complex_to_determinize_exception"}
)


def _too_complex(exc: BadRequestError) -> bool:
    error = exc.body.get("error") if isinstance(exc.body, dict) else None
    if not isinstance(error, dict):
        return False
    causes = [error, *error.get("root_cause", [])]
    while isinstance(cause := error.get("caused_by"), dict):
        causes.append(cause)
        error = cause
    return any(c.get("type") in _TOO_COMPLEX_CAUSES for c in causes if isinstance(c, dict))


def _unavailable(detail: str) -> ApiError:
    return ApiError(
        status=503,
        code=SliceErrorCode.SEARCH_UNAVAILABLE,
        detail=f"{detail}; ask for backend 'auto' or 'postgres'.",
    )


def _page(backend: Backend, ids: list[int], total: int, page_size: int) -> SearchPage:
    more = len(ids) > page_size
    ids = ids[:page_size]
    rows = hydrate(ids)
    next_cursor = encode_cursor(ids[-1], total=total) if more else None
    return SearchPage(backend=backend, total=total, rows=rows, next_cursor=next_cursor)


def hydrate(ids: list[int]) -> list[orjson.Fragment]:
    """The rows of `ids` in that order, with their annotations, as the API renders them."""
    return rendered_rows(ids)


@dataclass(frozen=True)
class Cursor:
    after: int  # the id a page starts after
    total: int | None = None  # a search's total, as its first page counted it


def encode_cursor(after: int, *, total: int | None = None) -> str:
    position = {"after": after} if total is None else {"after": after, "total": total}
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Cursor | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = orjson.loads(base64.urlsafe_b64decode(padded))
        after, total = position["after"], position.get("total")
    except (binascii.Error, ValueError, TypeError, KeyError, orjson.JSONDecodeError):
        after = total = None
    if not (_id_like(after) and (total is None or _id_like(total))):
        raise ApiError(
            status=400,
            code=SliceErrorCode.INVALID_CURSOR,
            detail="The cursor is not one this API gave out; start again without it.",
            fields={"cursor": ["not a cursor from a previous page"]},
        )
    return Cursor(after=after, total=total)


def _id_like(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63
