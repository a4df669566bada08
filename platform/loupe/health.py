"""Liveness and readiness probes."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, connections
from django.http import JsonResponse
from django.views.decorators.http import require_GET
from elasticsearch import ApiError, TransportError
from redis import RedisError

from loupe.db.replica_health import probe_replica
from loupe.redis_client import redis_client
from search.client import elasticsearch_client


@require_GET
def healthz(request) -> JsonResponse:
    """The process is alive and serving; checks nothing else."""
    return JsonResponse({"status": "ok"})


def _primary() -> dict:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        (in_recovery,) = cursor.fetchone()
    if in_recovery:
        return {"ok": False, "error": "the primary is in recovery"}
    return {"ok": True}


def _replica() -> dict:
    state = probe_replica()
    result = {
        "ok": state.usable,
        "in_recovery": state.in_recovery,
        "lag_seconds": state.lag_seconds,
    }
    if not state.reachable:
        result["error"] = state.error or "unreachable"
    elif not state.in_recovery:
        result["error"] = "not in recovery: it is not a standby"
    elif not state.usable:
        result["error"] = f"lags more than {settings.REPLICA_MAX_LAG_SECONDS} s"
    return result


def _redis() -> dict:
    redis_client().ping()
    return {"ok": True}


def _elasticsearch() -> dict:
    client = elasticsearch_client()
    if client is None:  # a deployment without it: not a failure, and said so
        return {
            "ok": True,
            "configured": False,
            "detail": "ELASTICSEARCH_URL is empty: every search runs on Postgres",
        }
    status = client.cluster.health(timeout="2s")["status"]
    return {"ok": status in ("green", "yellow"), "configured": True, "status": status}


CHECKS: dict[str, Callable[[], dict]] = {
    "primary": _primary,
    "replica": _replica,
    "redis": _redis,
    "elasticsearch": _elasticsearch,
}


@require_GET
def readyz(request) -> JsonResponse:
    """Every component the platform needs: 200 when all are up, 503 naming those down."""
    components = {}
    for name, check in CHECKS.items():
        try:
            components[name] = check()
        except (DatabaseError, RedisError, ApiError, TransportError) as exc:
            components[name] = {"ok": False, "error": str(exc).splitlines()[0][:300]}
    failing = [name for name, result in components.items() if not result["ok"]]
    body = {"status": "unavailable" if failing else "ok", "components": components}
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=503 if failing else 200)
