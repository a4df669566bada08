"""The scale bench's tenants: SCALE_TENANTS tenants provisioned by clone, a new migration
over all of them, the per-request cost of tenancy spread across them against one tenant,
and Elasticsearch holding one index per tenant.

A tenant's index is made at its first outbox drain (search/outbox.py, ensure_live_index),
not when the tenant is provisioned; the bench drains each tenant's (empty) outbox as the
index worker would, so that each has its index. The node refuses shards past
`cluster.max_shards_per_node` (1,000 by default, over every index of the cluster): the bench
stops there and says so. The bench tenants' indexes are dropped at the end, since those
shards are the cluster's to share (the test suite's indexes need room too).
"""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path

from bench.scale_migration import run_migration
from bench.scale_rows import owner_headers, progress, status_mib
from bench.search import percentile

PREFIX = "scale-t-"
REQUESTS = 2000
ENDPOINT = "/api/v1/projects/"  # authenticated, tenant-scoped, one small query


def run_tenants(*, tenants: int, work: Path) -> None:
    from tenants.models import Tenant

    print(f"\n== {tenants:,} tenants ==")
    made = provision(tenants)
    schemas = Tenant.objects.exclude(schema_name="public").count()
    run_migration(tenants=schemas)
    print_request_cost(made, work=work)
    made_indexes = create_indexes(made)
    print_elasticsearch_state(made_indexes)
    drop_bench_indexes()


def _slice(samples: list[float]) -> int:
    """How many samples "the first and last hundred" are, for a run of fewer tenants."""
    return min(100, max(1, len(samples) // 2))


def _first_and_last(samples: list[float], unit: float, what: str) -> str:
    n = _slice(samples)
    first, last = samples[:n], samples[-n:]
    return (
        f"first {n}: mean {statistics.mean(first) * unit:.0f} {what}, p95 "
        f"{percentile(first, 0.95) * unit:.0f}; last {n}: mean "
        f"{statistics.mean(last) * unit:.0f}, p95 {percentile(last, 0.95) * unit:.0f}"
    )


def provision(count: int) -> list:
    """`count` tenants by the platform's clone of the template; prints seconds per tenant."""
    from django.db import connection

    from tenants.services import create_tenant

    made, seconds = [], []
    for i in range(count):
        slug = f"{PREFIX}{i:04d}"
        started = time.perf_counter()
        made.append(
            create_tenant(
                slug=slug, name=slug, domain=f"{slug}.localhost", owner_email=f"o@{slug}.com"
            )
        )
        seconds.append(time.perf_counter() - started)
        if (i + 1) % 100 == 0:
            progress(f"{i + 1:,}/{count:,} tenants provisioned")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        (size,) = cursor.fetchone()
    print(
        f"  provisioning by clone, {count:,} tenants in {sum(seconds):.0f} s: "
        f"{_first_and_last(seconds, 1000, 'ms')}; the database is then "
        f"{size / 1024**3:.1f} GiB"
    )
    return made


def print_request_cost(made: list, *, work: Path) -> None:
    """`GET ENDPOINT` REQUESTS times to one tenant, then REQUESTS times spread across every
    tenant (each tenant's first request, cold, timed apart), on one server process."""
    import httpx

    from tests.support import processes

    headers = [owner_headers(tenant, f"{tenant.slug}.localhost") for tenant in made]
    with (
        processes.asgi_server(work / "tenants-server.log") as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):

        def timed_requests(order: list[dict]) -> list[float]:
            samples = []
            for sent in order:
                started = time.perf_counter()
                response = client.get(ENDPOINT, headers=sent)
                samples.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text
            return samples

        timed_requests([headers[0]] * 50)  # the process's own warm-up
        rss_before = status_mib(server.process.pid, "VmRSS")
        first_sight = timed_requests(headers[1:])
        one = timed_requests([headers[0]] * REQUESTS)
        spread = [headers[i % len(headers)] for i in range(REQUESTS)]
        random.Random(7).shuffle(spread)
        across = timed_requests(spread)
        rss_after = status_mib(server.process.pid, "VmRSS")
    print(
        f"  GET {ENDPOINT} on one server process, {REQUESTS:,} requests each (ms):\n"
        f"    to one tenant (baseline)   p50 {percentile(one, 0.5):6.1f}  p95 "
        f"{percentile(one, 0.95):6.1f}\n"
        f"    {f'spread across {len(made):,}':<27}p50 {percentile(across, 0.5):6.1f}  p95 "
        f"{percentile(across, 0.95):6.1f}   ({percentile(across, 0.5) / percentile(one, 0.5):.2f}x"
        f" the baseline's p50)\n"
        f"    each tenant's first        p50 {percentile(first_sight, 0.5):6.1f}  p95 "
        f"{percentile(first_sight, 0.95):6.1f}\n"
        f"  web process RSS: {rss_before:.0f} MiB after one tenant's requests, "
        f"{rss_after:.0f} MiB after every tenant's (+{rss_after - rss_before:.0f} MiB)"
    )


def create_indexes(made: list) -> int:
    """Each tenant's index, made as its first drain makes it; stops at the node's shard
    limit. Returns how many were made."""
    from django_tenants.utils import tenant_context
    from elasticsearch import ApiError

    from search import outbox

    seconds = []
    for tenant in made:
        started = time.perf_counter()
        try:
            with tenant_context(tenant):
                outbox.drain()
        except ApiError as exc:
            print(f"  Elasticsearch refused tenant {len(seconds) + 1:,}'s index: {str(exc)[:300]}")
            break
        seconds.append(time.perf_counter() - started)
        if len(seconds) % 100 == 0:
            progress(f"{len(seconds):,}/{len(made):,} tenant indexes made")
    print(
        f"  one index per tenant, made at its first drain: {len(seconds):,} in "
        f"{sum(seconds):.0f} s; {_first_and_last(seconds, 1000, 'ms')}"
    )
    return len(seconds)


def print_elasticsearch_state(made_indexes: int) -> None:
    """Shards against the node's limit, heap, and what the cluster state weighs."""
    from search.client import elasticsearch_client

    es = elasticsearch_client()
    health = es.cluster.health()
    limit = int(
        es.cluster.get_settings(include_defaults=True, flat_settings=True)["defaults"].get(
            "cluster.max_shards_per_node", 1000
        )
    )
    nodes = es.nodes.stats(metric="jvm,indices", index_metric="segments")["nodes"].values()
    heap_used = sum(node["jvm"]["mem"]["heap_used_in_bytes"] for node in nodes)
    heap_max = sum(node["jvm"]["mem"]["heap_max_in_bytes"] for node in nodes)
    segments = sum(node["indices"]["segments"]["count"] for node in nodes)
    room = limit * health["number_of_data_nodes"] - health["active_shards"]
    print(
        f"  Elasticsearch with {made_indexes:,} tenant indexes: {health['status']}, "
        f"{health['active_shards']:,} shards of the {limit:,} the "
        f"{health['number_of_data_nodes']} data node(s) take (room for {room:,} more "
        f"indexes of 1 shard), {segments:,} segments; heap {heap_used / 1024**2:.0f} of "
        f"{heap_max / 1024**2:.0f} MiB"
    )


def drop_bench_indexes() -> None:
    from django.conf import settings

    from search.client import elasticsearch_client

    es = elasticsearch_client()
    pattern = f"{settings.ELASTICSEARCH_INDEX_PREFIX}-{PREFIX.replace('-', '_')}*"
    for name in es.indices.get(index=pattern, expand_wildcards="all"):
        es.indices.delete(index=name)
