"""A tenant's data-row index: an alias, `<prefix>-<schema>-datarows`, over a versioned index.

Searches read the alias, so a reindex builds the next version beside the live one and swaps
the alias in one atomic call. The versions are recorded in the tenant's schema (IndexVersion)
so the outbox drainer knows which indexes to write to.

An index made before a field joined the mapping is given it in place, before anything is
written to or searched in it (ensure_current_mapping): its mapping is strict, so it would
refuse every new document, and a query on the field would fail.
"""

from __future__ import annotations

import contextlib
import re
import time

from django.conf import settings
from django.db import connection
from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError

from search.client import elasticsearch_client
from search.mapping import index_body, mappings
from search.models import IndexState, IndexVersion

# What follows the alias's name in a version's name: when it was made, in microseconds.
_VERSION_SUFFIX = re.compile(r"-[0-9]+")
# Indexes and aliases this process has brought to the current mapping: a mapping never loses
# a field, so one that has them keeps them.
_current_mappings: set[str] = set()


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
    _current_mappings.add(name)
    return IndexVersion.objects.create(name=name, state=state)


def ensure_current_mapping(name: str) -> None:
    """Add the fields of the current mapping that the index (or the indexes behind the alias)
    `name` lacks; once per process and name. Raises what Elasticsearch raises, a 400 where a
    field already mapped has changed: that takes a reindex."""
    if name in _current_mappings:
        return
    _client().indices.put_mapping(index=name, **mappings())
    _current_mappings.add(name)


def ensure_live_index() -> None:
    """Make sure the tenant's alias names an index, creating one if need be. Call under the
    drain lock. An index the alias names is adopted (its record may have been rolled back);
    a record whose alias is gone is replaced."""
    live = IndexVersion.objects.filter(state=IndexState.LIVE)
    if live.exists() and _client().indices.exists_alias(name=alias_name()):
        return
    named = sorted(behind_alias())
    live.delete()
    if named:
        IndexVersion.objects.create(name=named[0], state=IndexState.LIVE)
    else:
        create_version(IndexState.LIVE)


def forget_unfinished() -> list[str]:
    """Forget every version of the tenant that its alias does not name, and return their
    names, for drop_indexes once the transaction commits: what a reindex that died left half
    built (recorded as building, or not at all if it died between creating the index and
    recording it) and an old version a swap could not drop. Elasticsearch's list of indexes
    is the truth here, not the records. A version the alias names is recorded as live (a
    reindex that died between swapping the alias and recording it). Call under the drain
    lock and the reindex lock: once this commits, no drain writes to the versions it names
    (a write would create one again, unmapped)."""
    live = behind_alias()
    IndexVersion.objects.exclude(name__in=live).delete()
    for name in live:
        IndexVersion.objects.update_or_create(name=name, defaults={"state": IndexState.LIVE})
    return sorted(_versions() - live)


def _versions() -> set[str]:
    """The names of the tenant's index versions Elasticsearch holds, open or closed."""
    found = _client().indices.get(index=f"{alias_name()}-*", expand_wildcards="all")
    return {name for name in found if _VERSION_SUFFIX.fullmatch(name[len(alias_name()) :])}


def behind_alias() -> set[str]:
    """The names of the versions the tenant's alias names: the one searches read."""
    try:
        return set(_client().indices.get_alias(name=alias_name()))
    except NotFoundError:
        return set()


def write_targets() -> list[str]:
    """Where changes go: the alias, and every version being built by a reindex. Read under
    the drain lock, under which a reindex creates a version's index and records it in one
    transaction: every drain batch from the moment the index exists writes to it."""
    building = IndexVersion.objects.filter(state=IndexState.BUILDING).values_list("name", flat=True)
    return [alias_name(), *building]


def swap_alias(version: IndexVersion) -> list[str]:
    """Point the alias at `version` alone, in one atomic call (no search sees no index), and
    record it as live. Returns the names of the indexes it replaced, for drop_indexes."""
    client = _client()
    alias = alias_name()
    old = list(IndexVersion.objects.filter(state=IndexState.LIVE).exclude(pk=version.pk))
    named = behind_alias()
    replaced = sorted((named | {v.name for v in old}) - {version.name})
    actions = [{"add": {"index": version.name, "alias": alias}}]
    actions += [{"remove": {"index": name, "alias": alias}} for name in replaced if name in named]
    client.indices.update_aliases(actions=actions)
    IndexVersion.objects.filter(pk=version.pk).update(state=IndexState.LIVE)
    IndexVersion.objects.filter(pk__in=[v.pk for v in old]).delete()
    return replaced


def drop_indexes(names: list[str]) -> list[str]:
    """Drop indexes that neither searches nor drains use any more (replaced, or left
    unfinished), best effort: one that stays only takes disk, and the next reindex drops it.
    Returns those dropped."""
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
