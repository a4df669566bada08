"""The HTTP request metrics: a counter by method, route and status, and a latency histogram
by method and route.

The route is the URL pattern a request resolved to (`/api/v1/datasets/<int:dataset_id>/`),
never its raw path, so the URL configuration bounds the number of series; a request answered
without resolving one (an unknown path, a host that serves no tenant, a refused token) counts
under UNMATCHED. Methods outside the standard ones count as `other`, for the same reason.

Each web process records its own requests; in multiprocess mode (PROMETHEUS_MULTIPROC_DIR,
see docs/metrics.md) prometheus-client keeps them in files there, which a scrape merges.
"""

from __future__ import annotations

from django.http import HttpRequest
from prometheus_client import Counter, Histogram

UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "loupe_http_requests",
    "HTTP requests answered, by method, route (the URL pattern) and status.",
    ["method", "route", "status"],
)
DURATION = Histogram(
    "loupe_http_request_duration_seconds",
    "Seconds from the request to its response (a streamed body's transfer not included), "
    "by method and route.",
    ["method", "route"],
)


def route_of(request: HttpRequest) -> str:
    """The URL pattern the request resolved to, or UNMATCHED."""
    match = request.resolver_match
    return UNMATCHED if match is None else f"/{match.route}"


def observe_request(*, method: str, route: str, status: int, seconds: float) -> None:
    method = method if method in _METHODS else "other"
    REQUESTS.labels(method=method, route=route, status=str(status)).inc()
    DURATION.labels(method=method, route=route).observe(seconds)
