"""Loupe at scale, in one run: SCALE_ROWS rows (10 metadata keys, 3 annotations each) into one
tenant through the real import path, then its indexing, disk, searches, counts, facets and
snapshot (bench/scale_rows.py); then SCALE_TENANTS tenants provisioned by clone, a new
migration over all of them, the per-request cost of tenancy and Elasticsearch with an index
per tenant (bench/scale_tenants.py). Each figure is printed beside its baseline or target.

Run: `make bench-scale` (`SCALE_ROWS=100000 SCALE_TENANTS=30 make bench-scale` for a small
run). SCALE_CHUNK_ROWS rows go in each uploaded file (1,000,000), and each timing takes
SCALE_RUNS runs (20). It runs against the bench database of `make services`' Postgres,
recreated at its start, as every bench's is: a second run starts from nothing.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.setup import ROOT, bench_django


def _size(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def main() -> None:
    rows = _size("SCALE_ROWS", 10_000_000)
    tenants = _size("SCALE_TENANTS", 1000)
    chunk_rows = _size("SCALE_CHUNK_ROWS", 1_000_000)
    runs = _size("SCALE_RUNS", 20)
    sys.stdout.reconfigure(line_buffering=True)  # each figure as it comes, in a long run
    bench_django()
    from bench.scale_rows import run_rows
    from bench.scale_tenants import run_tenants

    started = time.perf_counter()
    # The chunks and the processes' logs, on the data disk rather than a small /tmp.
    parent = ROOT / ".local" / "bench"
    parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="scale-", dir=parent) as folder:
        run_rows(rows=rows, chunk_rows=chunk_rows, runs=runs, work=Path(folder))
        run_tenants(tenants=tenants, work=Path(folder))
    print(f"\nscale bench done in {(time.perf_counter() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
