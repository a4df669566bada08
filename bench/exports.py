"""Export memory: the API server's resident memory while it streams a dataset out. uvicorn
(started here) serves GET /api/v1/datasets/<id>/export for 100,000 synthetic rows (the
import bench's: 10 metadata keys, 3 boxes each) and, as the baseline measured in the same
run, for their first 10,000; its VmRSS is read from /proc/<pid>/status every 20 ms. An
export that streams grows the server by about as much for the large dataset as for the
small one; a body built whole before sending would grow it ten times as much. The time to
the first byte, flat when streaming, is printed beside it.

Run: `make bench` (or `.venv/bin/python bench/exports.py [--rows N] [--baseline-rows N]`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.imports import generate
from bench.setup import ROOT, bench_django

HOST = "exportbench.localhost"  # ALLOWED_HOSTS holds .localhost


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@dataclass(frozen=True)
class Export:
    rows: int
    bytes: int
    seconds: float
    first_byte_ms: float
    rss_before: float
    rss_peak: float

    @property
    def growth(self) -> float:
        return self.rss_peak - self.rss_before


def export(server, token: str, dataset_id: int, fmt: str, rows: int) -> Export:
    """One export read to its end as fast as the client can, the server's RSS sampled."""
    import httpx

    pid = server.process.pid
    before = peak = rss_mib(pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.02):
            peak = max(peak, rss_mib(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    headers = {"Host": HOST, "Authorization": f"Bearer {token}"}
    url = f"{server.url}/api/v1/datasets/{dataset_id}/export?format={fmt}"
    size, first_byte = 0, None
    started = time.perf_counter()
    try:
        with httpx.stream("GET", url, headers=headers, timeout=600) as response:
            assert response.status_code == 200, response.read()
            for chunk in response.iter_raw():
                if first_byte is None:
                    first_byte = time.perf_counter() - started
                size += len(chunk)
    finally:
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
    return Export(rows, size, elapsed, (first_byte or elapsed) * 1000, before, peak)


def load(dataset, path: Path) -> int:
    """The file's rows, imported into `dataset` through the real import path."""
    from apps.datasets.import_runs import run_import
    from apps.datasets.imports import create_local_import

    job = create_local_import(dataset=dataset, format="jsonl", path=str(path))
    job = run_import(job_id=job.pk)
    assert job.status == "succeeded", (job.status, job.detail)
    return job.total


def line(fmt: str, got: Export) -> str:
    mib = got.bytes / 1024**2
    return (
        f"  {fmt:<5} {got.rows:>9,} rows  {mib:7.1f} MiB in {got.seconds:5.1f} s"
        f" ({mib / got.seconds:5.1f} MiB/s)   first byte {got.first_byte_ms:6.1f} ms"
        f"   server RSS {got.rss_before:5.0f} MiB, peak +{got.growth:5.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--baseline-rows", type=int, default=10_000)
    args = parser.parse_args()

    bench_django()
    from django_tenants.utils import tenant_context

    from apps.datasets.models import Dataset
    from apps.projects.models import Project
    from tenants.identity import dev_issuer
    from tenants.services import create_tenant
    from tests.support import processes
    from tests.support.database import wait_for_replica_catch_up

    tenant = create_tenant(
        slug="exportbench", name="Export bench", domain=HOST, owner_email="o@example.com"
    )
    owner = tenant.memberships.get().user
    datasets = {}
    started = time.perf_counter()
    with tenant_context(tenant):
        project = Project.objects.create(name="bench")
        for rows in (args.baseline_rows, args.rows):
            path = ROOT / ".local" / "bench" / f"rows-{rows}.jsonl"
            generate(path, rows)
            datasets[rows] = Dataset.objects.create(project=project, name=f"rows-{rows}")
            assert load(datasets[rows], path) == rows
    wait_for_replica_catch_up(timeout=120)  # exports read the replica
    print(
        f"{args.baseline_rows:,} and {args.rows:,} rows imported in "
        f"{time.perf_counter() - started:.0f} s"
    )
    token = dev_issuer.issue_token(email=owner.email, tenant=tenant.slug, role="owner")

    with (
        tempfile.TemporaryDirectory() as folder,
        processes.asgi_server(Path(folder) / "server.log") as server,
    ):
        print(
            f"dataset export through uvicorn (pid {server.process.pid}), its VmRSS sampled "
            "every 20 ms; the small dataset is the baseline:"
        )
        small, large = datasets[args.baseline_rows], datasets[args.rows]
        for fmt in ("jsonl", "coco"):
            export(server, token, small.pk, fmt, args.baseline_rows)  # warm-up, not counted
            base = export(server, token, small.pk, fmt, args.baseline_rows)
            big = export(server, token, large.pk, fmt, args.rows)
            print(line(fmt, base))
            print(line(fmt, big))
            print(
                f"  {fmt:<5} {args.rows // args.baseline_rows}x the rows: body "
                f"{big.bytes / base.bytes:.1f}x, RSS growth +{big.growth:.1f} vs "
                f"+{base.growth:.1f} MiB (streaming: about the same; built whole: "
                f"{big.bytes / base.bytes:.0f}x), first byte {big.first_byte_ms:.0f} vs "
                f"{base.first_byte_ms:.0f} ms"
            )


if __name__ == "__main__":
    main()
