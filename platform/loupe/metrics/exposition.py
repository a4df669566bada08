"""One scrape of /metrics: the request metrics, and the collectors that read the platform's
state as the scrape asks.

The request metrics are this process's own (with its CPU, memory and GC metrics) or, in
multiprocess mode (PROMETHEUS_MULTIPROC_DIR set), every process's, merged from the files
each keeps there; the process metrics are left out then, as they would describe whichever
process happened to answer. The scrape-time collectors run in the process that answers, once
per scrape, whatever the number of processes.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from loupe.metrics.access import scrape_refusal
from loupe.metrics.components import ComponentCollector
from loupe.metrics.queues import QueueCollector
from loupe.metrics.tenant_data import TenantDataCollector

_SCRAPE_TIME = (ComponentCollector(), QueueCollector(), TenantDataCollector())


def scrape_registry() -> CollectorRegistry:
    """Everything one scrape reports, gathered anew for it."""
    registry = CollectorRegistry()
    if settings.PROMETHEUS_MULTIPROC_DIR:
        MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    else:
        # prometheus-client's default registry: the request metrics and the process's own.
        registry.register(REGISTRY)
    for collector in _SCRAPE_TIME:
        registry.register(collector)
    return registry


@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The metrics in the Prometheus text format (OpenMetrics to a scraper that asks for it
    in Accept), or the refusal for a caller who may not read them."""
    refused = scrape_refusal(request)
    if refused is not None:
        return refused
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(scrape_registry()), content_type=content_type)
