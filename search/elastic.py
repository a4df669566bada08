"""Searching a tenant's index: ids in Elasticsearch's order, counts, and the metadata keys
seen. Only the tenant's own alias is ever named, so a query cannot reach another tenant."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

from elasticsearch import ApiError, TransportError

from search import indexes
from search.client import elasticsearch_client

_HEALTH_TTL_SECONDS = 2.0
_health: dict[str, float | bool] = {"checked": 0.0, "ok": False}
# A tenant's alias, once seen, stays (drains re-create it if it is ever lost), so a search
# asks only until it exists; a search on a lost one fails over to Postgres.
_aliases_seen: set[str] = set()


class IndexState(StrEnum):
    READY = "ready"
    # The cluster answers, but the tenant has never had a row indexed: nothing to find yet.
    NOT_CREATED = "not_created"
    UNAVAILABLE = "unavailable"


def available() -> bool:
    return index_state() == IndexState.READY


def index_state() -> IndexState:
    """Whether Elasticsearch is configured and answers, and the tenant has an index. The
    cluster check is cached a moment and an alias seen is remembered, so a search does not
    pay for them."""
    client = elasticsearch_client()
    if client is None:
        return IndexState.UNAVAILABLE
    now = time.monotonic()
    if now - float(_health["checked"]) > _HEALTH_TTL_SECONDS:
        try:
            status = client.options(request_timeout=1).cluster.health(timeout="1s")["status"]
            _health["ok"] = status in ("green", "yellow")
        except (TransportError, ApiError):
            _health["ok"] = False
        _health["checked"] = now
    if not _health["ok"]:
        return IndexState.UNAVAILABLE
    alias = indexes.alias_name()
    if alias in _aliases_seen:
        return IndexState.READY
    try:
        exists = indexes.alias_exists()
        if exists:
            indexes.ensure_current_mapping(alias)  # a search may come before any drain
    except (TransportError, ApiError):
        return IndexState.UNAVAILABLE
    if not exists:
        return IndexState.NOT_CREATED
    _aliases_seen.add(alias)
    return IndexState.READY


@dataclass(frozen=True)
class IdPage:
    ids: list[int]
    total: int | None  # None when not counted


def search_ids(query: dict, *, size: int, after: int | None, count_total: bool = True) -> IdPage:
    """One page of row ids matching `query`, by id, after the id `after`, and how many match
    in all unless `count_total` is false: counting visits every match, where the page alone
    lets Elasticsearch skip the ones that cannot be on it."""
    body = {
        "query": query,
        "size": size,
        "sort": [{"id": "asc"}],
        "_source": False,
        "track_total_hits": count_total,
    }
    if after is not None:
        body["search_after"] = [after]
    response = elasticsearch_client().search(index=indexes.alias_name(), **body)
    hits = response["hits"]
    total = hits["total"]["value"] if count_total else None
    return IdPage(ids=[int(hit["_id"]) for hit in hits["hits"]], total=total)


def count(query: dict) -> int:
    return elasticsearch_client().count(index=indexes.alias_name(), query=query)["count"]


@dataclass(frozen=True)
class Aggregated:
    total: int
    aggregations: dict


def aggregate(query: dict, aggs: dict) -> Aggregated:
    """The exact number of rows matching `query`, and `aggs` over them; no hits."""
    body = {"query": query, "size": 0, "track_total_hits": True, "aggs": aggs}
    response = elasticsearch_client().search(index=indexes.alias_name(), **body)
    return Aggregated(
        total=response["hits"]["total"]["value"], aggregations=response["aggregations"]
    )


def metadata_keys(*, limit: int = 1000) -> list[dict]:
    """The metadata keys in the index, most frequent first, each with the value types seen."""
    typed = {kind: {"filter": {"exists": {"field": f"metadata.{kind}"}}} for kind in _TYPES}
    body = {
        "size": 0,
        "aggs": {
            "metadata": {
                "nested": {"path": "metadata"},
                "aggs": {
                    "keys": {"terms": {"field": "metadata.key", "size": limit}, "aggs": typed}
                },
            }
        },
    }
    response = elasticsearch_client().search(index=indexes.alias_name(), **body)
    buckets = response["aggregations"]["metadata"]["keys"]["buckets"]
    return [
        {
            "key": bucket["key"],
            "types": [_TYPES[kind] for kind in _TYPES if bucket[kind]["doc_count"]],
        }
        for bucket in buckets
    ]


# Entry field -> the literal type a query compares it with.
_TYPES = {"str": "string", "num": "number", "bool": "boolean", "date": "date"}
