"""The search API against the index it answers from: each of the fixed queries sent as
`POST /api/v1/search/` to the running server (a page of 50 rows, with their annotations),
and the same Elasticsearch query (the one the API sends, compiled from the same text) sent
straight to Elasticsearch, on the same index, in the same run. Prints p50/p95 of both and
the ratio of their p95s.

Run: `make bench` (or `.venv/bin/python bench/search_api.py [--rows N] [--runs N]`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.search import QUERIES, indexed_tenant, percentile
from bench.setup import bench_django

PAGE_SIZE = 50


def _timed(action, runs: int) -> list[float]:
    action()  # warms caches and connections
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    bench_django()
    import httpx

    from tenants.identity import dev_issuer
    from tenants.identity.authenticate import authenticate_token
    from tests.support import processes

    tenant, _ = indexed_tenant("searchapi", args.rows)
    token = dev_issuer.issue_token(email="o@searchapi.com", tenant=tenant.slug, role="owner")
    authenticate_token(token, client="bench")
    headers = {"Host": "searchapi.localhost", "Authorization": f"Bearer {token}"}
    print(
        f"{args.rows:,} rows, 3 annotations each; a page of {PAGE_SIZE} rows, {args.runs} runs "
        "per query; the API through the running server (one process), Elasticsearch straight"
    )
    with (
        tempfile.TemporaryDirectory() as folder,
        processes.asgi_server(Path(folder) / "server.log") as server,
        httpx.Client(base_url=server.url, headers=headers, timeout=60) as client,
    ):
        compare_api_and_elasticsearch(client, tenant, runs=args.runs)


def compare_api_and_elasticsearch(client, tenant, *, runs: int) -> None:
    """For each fixed query: p50/p95 of a page through the API (`client`, an httpx client of
    the running server carrying the tenant's host and a member's token) and of the same
    Elasticsearch query sent straight to the tenant's index, and the ratio of their p95s."""
    from django_tenants.utils import tenant_context

    from apps.slices import queries
    from search.client import elasticsearch_client
    from search.indexes import alias_name
    from search.query.to_elasticsearch import compile_to_elasticsearch

    es = elasticsearch_client()
    with tenant_context(tenant):
        alias = alias_name()
        compiled = {text: compile_to_elasticsearch(queries.prepare(text)) for _, text in QUERIES}
    print(f"{'query':<24}{'API p50':>9}{'API p95':>9}{'ES p50':>9}{'ES p95':>9}  ratio p95")
    api_all, es_all = [], []
    for label, text in QUERIES:
        body = {"query": text, "page_size": PAGE_SIZE}

        def through_api(body=body) -> None:
            response = client.post("/api/v1/search/", json=body)
            assert response.status_code == 200, response.text
            assert response.json()["backend"] == "elasticsearch"

        def straight(text=text) -> None:
            es.search(
                index=alias,
                query=compiled[text],
                size=PAGE_SIZE + 1,
                sort=[{"id": "asc"}],
                _source=False,
                track_total_hits=True,
            )

        api, direct = _timed(through_api, runs), _timed(straight, runs)
        api_all += api
        es_all += direct
        print(
            f"{label:<24}{percentile(api, 0.5):>9.1f}{percentile(api, 0.95):>9.1f}"
            f"{percentile(direct, 0.5):>9.1f}{percentile(direct, 0.95):>9.1f}"
            f"  {percentile(api, 0.95) / percentile(direct, 0.95):>6.1f}x"
        )
    api95, es95 = percentile(api_all, 0.95), percentile(es_all, 0.95)
    print(
        f"{'all queries':<24}{percentile(api_all, 0.5):>9.1f}{api95:>9.1f}"
        f"{percentile(es_all, 0.5):>9.1f}{es95:>9.1f}  {api95 / es95:>6.1f}x"
    )


if __name__ == "__main__":
    main()
