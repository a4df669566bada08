"""A tenant's data-row index: an alias, `<prefix>-<schema>-datarows`, over a versioned index.

Searches read the alias, so a reindex builds the next version beside the live one and swaps
the alias in one atomic call. The versions are recorded in the tenant's schema (IndexVersion)
so the outbox drainer knows which indexes to write to.
"""

from __future__ import annotations

import contextlib
import time

from django.conf import settings
from django.db import connection
from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError

from search.client import elasticsearch_client
from search.mapping import index_body
from search.models import IndexState, IndexVersion


def alias_name(schema_name: str | None = None) -> str:
    schema = schema_name or connection.schema_name
    return f"{settings.ELASTICSEARCH_INDEX_PREFIX}-{schema}-datarows"


def _client() -> Elasticsearch:
    client = elasticsearch_client()
    if client is None:
        raise RuntimeError("no Elasticsearch is configured (ELASTICSEARCH_URL is empty)")
    return client


def create_version(state: IndexState) -> IndexVersion:
    """Create a new, empty index version and record it. A LIVE version also gets the alias
    (used when a tenant has no index yet)."""
    name = f"{alias_name()}-{time.time_ns() // 1000}"
    body = index_body()
    if state == IndexState.LIVE:
        body["aliases"] = {alias_name(): {}}
    _client().indices.create(index=name, **body)
    return IndexVersion.objects.create(name=name, state=state)


def ensure_live_index() -> None:
    """Make sure the tenant's alias names an index, creating one if need be. Call under the
    drain lock. An index the alias names is adopted (its record may have been rolled back);
    a record whose alias is gone is replaced."""
    client = _client()
    live = IndexVersion.objects.filter(state=IndexState.LIVE)
    if live.exists() and client.indices.exists_alias(name=alias_name()):
        return
    try:
        named = sorted(client.indices.get_alias(name=alias_name()))
    except NotFoundError:
        named = []
    live.delete()
    if named:
        IndexVersion.objects.create(name=named[0], state=IndexState.LIVE)
    else:
        create_version(IndexState.LIVE)


def discard_building() -> None:
    """Drop every version still marked as being built: a reindex that died left it. Call
    under the drain lock and the reindex lock."""
    for version in IndexVersion.objects.filter(state=IndexState.BUILDING):
        drop_index(version.name)
        version.delete()


def write_targets() -> list[str]:
    """Where changes go: the alias, and every version being built by a reindex."""
    building = IndexVersion.objects.filter(state=IndexState.BUILDING).values_list("name", flat=True)
    return [alias_name(), *building]


def swap_alias(version: IndexVersion) -> list[str]:
    """Point the alias at `version` alone, in one atomic call (no search sees no index), and
    record it as live. Returns the names of the indexes it replaced, for drop_indexes."""
    client = _client()
    alias = alias_name()
    old = list(IndexVersion.objects.filter(state=IndexState.LIVE).exclude(pk=version.pk))
    try:
        named = set(client.indices.get_alias(name=alias))
    except NotFoundError:
        named = set()
    replaced = sorted((named | {v.name for v in old}) - {version.name})
    actions = [{"add": {"index": version.name, "alias": alias}}]
    actions += [{"remove": {"index": name, "alias": alias}} for name in replaced if name in named]
    client.indices.update_aliases(actions=actions)
    IndexVersion.objects.filter(pk=version.pk).update(state=IndexState.LIVE)
    IndexVersion.objects.filter(pk__in=[v.pk for v in old]).delete()
    return replaced


def drop_indexes(names: list[str]) -> list[str]:
    """Drop replaced indexes, best effort (one that stays only takes disk); returns those
    dropped."""
    dropped = []
    for name in names:
        try:
            drop_index(name)
        except (TransportError, ApiError):
            continue
        dropped.append(name)
    return dropped


def drop_index(name: str) -> None:
    with contextlib.suppress(NotFoundError):
        _client().indices.delete(index=name)


def alias_exists() -> bool:
    client = elasticsearch_client()
    return client is not None and bool(client.indices.exists_alias(name=alias_name()))
