"""Throughput under concurrency: 16 clients on two tenants, each looping over a search, a
count, a page of rows and the project list, against the API's server run as one process
(the baseline) and as one process per core (`make run`'s default, WEB_PROCESSES), in the
same run. Prints requests/s, p50/p95/p99 and errors for each.

Run: `make bench` (or `.venv/bin/python bench/load.py [--clients 16] [--seconds 20]`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.search import indexed_tenant, percentile
from bench.setup import bench_django

ROWS_PER_TENANT = 20_000


def _tenant_with_rows(slug: str) -> tuple[str, str, int]:
    """A tenant holding ROWS_PER_TENANT indexed rows: its host, an owner's token, the
    dataset's id."""
    from tenants.identity import dev_issuer
    from tenants.identity.authenticate import authenticate_token

    _, dataset = indexed_tenant(slug, ROWS_PER_TENANT)
    token = dev_issuer.issue_token(email=f"o@{slug}.com", tenant=slug, role="owner")
    authenticate_token(token, client="bench")  # first sight links the subject
    return f"{slug}.localhost", token, dataset.pk


def _requests(dataset: int) -> list[tuple[str, str, dict | None]]:
    return [
        ("POST", "/api/v1/search/", {"query": "metadata.camera = 'front'", "page_size": 50}),
        ("POST", "/api/v1/search/count/", {"query": "label(class = 'car')"}),
        ("GET", f"/api/v1/datasets/{dataset}/rows/", None),
        ("GET", "/api/v1/projects/", None),
    ]


async def _client(httpx, url: str, tenant, deadline: float, samples: list, errors: list):
    host, token, dataset = tenant
    headers = {"Host": host, "Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        while time.monotonic() < deadline:
            for method, path, body in _requests(dataset):
                started = time.perf_counter()
                response = await client.request(method, path, json=body)
                samples.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    errors.append(f"{method} {path}: {response.status_code}")


def _load(url: str, tenants: list, clients: int, seconds: float) -> tuple[list, list, float]:
    import httpx

    samples: list[float] = []
    errors: list[str] = []

    async def run() -> None:
        # A warm-up round, so each process has its connections and caches.
        warm = time.monotonic() + 2
        await asyncio.gather(*(_client(httpx, url, t, warm, [], []) for t in tenants * 4))
        deadline = time.monotonic() + seconds
        await asyncio.gather(
            *(
                _client(httpx, url, tenants[i % len(tenants)], deadline, samples, errors)
                for i in range(clients)
            )
        )

    started = time.monotonic()
    asyncio.run(run())
    return samples, errors, time.monotonic() - started - 2


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    bench_django()
    from tests.support import processes

    tenants = [_tenant_with_rows("loadbench-a"), _tenant_with_rows("loadbench-b")]
    cores = len(os.sched_getaffinity(0))
    print(
        f"{args.clients} clients on 2 tenants ({ROWS_PER_TENANT:,} rows each) for "
        f"{args.seconds:.0f} s: search, count, rows, projects in turn"
    )
    print(f"{'server':<28}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for label, web_processes in (("1 process (baseline)", 1), (f"{cores} processes", cores)):
        with tempfile.TemporaryDirectory() as folder:
            env = {"WEB_CONCURRENCY": str(web_processes), "PROMETHEUS_MULTIPROC_DIR": folder}
            with processes.asgi_server(Path(folder) / "server.log", env=env) as server:
                samples, errors, took = _load(server.url, tenants, args.clients, args.seconds)
        print(
            f"{label:<28}{len(samples) / took:>8.1f}{percentile(samples, 0.5):>9.0f}"
            f"{percentile(samples, 0.95):>9.0f}{percentile(samples, 0.99):>9.0f}"
            f"{len(errors):>8}"
        )
        for error in sorted(set(errors))[:5]:
            print(f"    {error}")


if __name__ == "__main__":
    main()
