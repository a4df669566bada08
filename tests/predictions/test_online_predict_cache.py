"""The predict server's cache of loaded versions, alone: one load per version under concurrent
first calls, failures not kept, least recently used evicted with its route.
(The HTTP behaviour, eviction included, is in test_online_predict.py.)"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from workers.serving.model_cache import LoadedVersion, ModelCache

ENGINE = object()  # the cache never calls its entries' engines


def version(number: int, schema: str = "t1") -> LoadedVersion:
    return LoadedVersion(
        schema=schema, version_id=100 + number, model_name="m", number=number, engine=ENGINE
    )


def test_concurrent_first_calls_of_a_version_load_it_once():
    cache, loads = ModelCache(2, on_evict=lambda keys: None), []
    gate = threading.Event()

    def load():
        loads.append(1)
        gate.wait(5)
        return version(1)

    with ThreadPoolExecutor(8) as pool:
        calls = [pool.submit(cache.load, ("t1", 101), load) for _ in range(8)]
        time.sleep(0.1)  # every call is waiting on the one load
        gate.set()
        results = [call.result() for call in calls]
    assert len(loads) == 1
    assert len({id(loaded) for loaded, _ in results}) == 1
    assert sorted(loaded_now for _, loaded_now in results) == [False] * 7 + [True]


def test_a_failed_load_reaches_its_caller_and_the_next_call_loads_again():
    cache = ModelCache(2, on_evict=lambda keys: None)

    def broken():
        raise OSError("artifact missing")

    with pytest.raises(OSError):
        cache.load(("t1", 101), broken)
    assert cache.find(("t1", "m", 1)) is None
    assert cache.load(("t1", 101), lambda: version(1)) == (version(1), True)


def test_past_its_size_the_least_recently_used_version_goes_with_its_route():
    evicted = []
    cache = ModelCache(2, on_evict=evicted.extend)
    cache.load(("t1", 101), lambda: version(1))
    cache.load(("t1", 102), lambda: version(2))
    assert cache.find(("t1", "m", 1)) == version(1)  # 2 is now the least recent
    cache.load(("t1", 103), lambda: version(3))
    assert evicted == [("t1", 102)]
    assert cache.find(("t1", "m", 2)) is None
    assert cache.find(("t1", "m", 1)) == version(1)


def test_tenants_versions_of_one_name_and_number_are_apart():
    cache = ModelCache(4, on_evict=lambda keys: None)
    cache.load(("t1", 101), lambda: version(1, "t1"))
    assert cache.find(("t2", "m", 1)) is None
