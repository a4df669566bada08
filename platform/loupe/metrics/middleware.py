"""Records every HTTP request's metrics, and answers /metrics itself.

It stands right after RequestContextMiddleware (so a refusal carries the error id) and before
TenantMiddleware: /metrics answers on any host name, as the probes do (Prometheus scrapes a
container or pod by its address, a name no Domain row holds), and its bearer token is
METRICS_TOKEN, not a JWT for TenantMiddleware to refuse.
"""

from __future__ import annotations

import time

from loupe.metrics.exposition import metrics_view
from loupe.metrics.http import observe_request, route_of

METRICS_PATH = "/metrics"


class MetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        if request.path.rstrip("/") == METRICS_PATH:
            response, route = metrics_view(request), METRICS_PATH
        else:
            response = self.get_response(request)
            route = route_of(request)
        observe_request(
            method=request.method,
            route=route,
            status=response.status_code,
            seconds=time.perf_counter() - started,
        )
        return response
