"""The components /readyz checks, as gauges: each one up (1) where /readyz counts it ok and
down (0) where not, and the replica's lag in seconds, from the same checks.

A component that is not configured (Elasticsearch with ELASTICSEARCH_URL empty) counts as up,
as /readyz counts it. The lag is left out while it is unknown (the replica unreachable, or
nothing replayed since it started): loupe_component_up{component="replica"} is 0 then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from django.db import DatabaseError
from elasticsearch import ApiError, TransportError
from prometheus_client.core import GaugeMetricFamily
from redis import RedisError

from loupe.health import CHECKS

# What a check raises for a component that is down, as /readyz catches it.
_DOWN = (DatabaseError, RedisError, ApiError, TransportError)


def _run(check: Callable[[], dict]) -> dict:
    try:
        return check()
    except _DOWN:
        return {"ok": False}


class ComponentCollector:
    def collect(self) -> Iterator[GaugeMetricFamily]:
        results = {name: _run(check) for name, check in CHECKS.items()}
        up = GaugeMetricFamily(
            "loupe_component_up",
            "1 where /readyz counts the component ok, 0 where it does not.",
            labels=["component"],
        )
        for name, result in results.items():
            up.add_metric([name], 1 if result["ok"] else 0)
        yield up

        lag = GaugeMetricFamily(
            "loupe_replica_lag_seconds",
            "How far the replica's replay is behind the primary (0 while streaming caught up).",
        )
        # /readyz reports the replica's lag beside its verdict.
        lag_seconds = results["replica"].get("lag_seconds")
        if lag_seconds is not None:
            lag.add_metric([], lag_seconds)
        yield lag
