"""The model versions a serving process keeps loaded: an LRU of PREDICT_CACHE_VERSIONS
entries keyed by (tenant schema, model version id).

A version is found by the name and number a call gives without asking the database: a
version is never renumbered or deleted, so the route (schema, model name, number) -> version
stays true for as long as its entry lives, and goes with it. Concurrent first calls of one
version load it once; the others wait for that load. `on_evict` hears the keys evicted once
the cache holds nothing of them (so their device memory can be given back).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from workers.engines.base import Engine

Key = tuple[str, int]  # (schema, model version id)
Route = tuple[str, str, int]  # (schema, model name, version number)


@dataclass(frozen=True)
class LoadedVersion:
    schema: str
    version_id: int
    model_name: str
    number: int
    engine: Engine

    @property
    def key(self) -> Key:
        return (self.schema, self.version_id)

    @property
    def route(self) -> Route:
        return (self.schema, self.model_name, self.number)


class ModelCache:
    def __init__(self, capacity: int, *, on_evict: Callable[[list[Key]], None]):
        self.capacity = capacity
        self._on_evict = on_evict
        self._entries: OrderedDict[Key, LoadedVersion] = OrderedDict()
        self._routes: dict[Route, Key] = {}
        self._loading: dict[Key, Future[LoadedVersion]] = {}
        self._lock = threading.Lock()

    def find(self, route: Route) -> LoadedVersion | None:
        """The loaded version at this route, now the most recently used; None if not loaded."""
        with self._lock:
            key = self._routes.get(route)
            if key is None:
                return None
            self._entries.move_to_end(key)
            return self._entries[key]

    def load(self, key: Key, load: Callable[[], LoadedVersion]) -> tuple[LoadedVersion, bool]:
        """The version at `key`, loaded by `load` unless it is loaded or being loaded
        already, and whether this call loaded it. An exception from `load` reaches every
        caller waiting on it, and nothing is kept: the next call tries again."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key], False
            pending = self._loading.get(key)
            if pending is None:
                pending = self._loading[key] = Future()
                loading = True
            else:
                loading = False
        if not loading:
            return pending.result(), False
        try:
            loaded = load()
        except BaseException as exc:
            with self._lock:
                del self._loading[key]
            pending.set_exception(exc)
            raise
        with self._lock:
            del self._loading[key]
            self._entries[key] = loaded
            self._routes[loaded.route] = key
            evicted = self._evict_over_capacity()
        pending.set_result(loaded)
        if evicted:
            self._on_evict(evicted)
        return loaded, True

    def _evict_over_capacity(self) -> list[Key]:
        evicted = []
        while len(self._entries) > self.capacity:
            key, old = self._entries.popitem(last=False)
            del self._routes[old.route]
            evicted.append(key)
        return evicted
