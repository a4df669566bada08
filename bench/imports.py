"""Import throughput: 1,000,000 synthetic JSONL rows (10 metadata keys, 3 annotations each)
through the real import path (staged in IMPORT_PROCESSES processes, the cores available),
against the same import staged in one process and on a thread, a raw COPY of the
file's lines into an unlogged table, and a plain bulk_create baseline on the first 100,000.
Also each side of the import alone on those 100,000: parsing and staging, and the database
writing staged rows; the import overlaps the two on two cores.

Run: `make bench` (or `.venv/bin/python bench/imports.py [--rows N]`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.setup import ROOT, bench_django

CAMERAS = ["front", "rear", "left", "right"]
CLASSES = ["car", "person", "bicycle", "truck", "sign"]


def synthetic_row(i: int, rng: random.Random) -> dict:
    return {
        "external_id": f"img-{i:08d}",
        "media_uri": f"s3://bench/images/{i:08d}.jpg",
        "width": 1920,
        "height": 1080,
        "metadata": {
            "camera": rng.choice(CAMERAS),
            "speed": round(rng.uniform(0, 130), 1),
            "weather": rng.choice(["sun", "rain", "fog", "snow"]),
            "night": rng.random() < 0.3,
            "frame": i,
            "session": f"s{i // 1000}",
            "lat": round(rng.uniform(-90, 90), 5),
            "lon": round(rng.uniform(-180, 180), 5),
            "driver": rng.choice(["a", "b", "c"]),
            "quality": rng.randint(1, 5),
        },
        "tags": rng.sample(["blurry", "dark", "review", "train", "val"], 2),
        "annotations": [
            {
                "class": rng.choice(CLASSES),
                "bbox": [
                    rng.randint(0, 1800),
                    rng.randint(0, 1000),
                    rng.randint(10, 120),
                    rng.randint(10, 80),
                ],
                "attributes": {"occluded": rng.random() < 0.2},
            }
            for _ in range(3)
        ],
    }


def generate(path: Path, rows: int) -> None:
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as handle:
            if sum(1 for _ in handle) == rows:
                return
    rng = random.Random(7)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        for i in range(rows):
            handle.write(json.dumps(synthetic_row(i, rng)) + "\n")


def rss_mib() -> float:
    """This process's resident memory and its children's (the import's staging process)."""
    pid = os.getpid()
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sum(_rss_of(p) for p in [str(pid), *children])


def _rss_of(pid: str) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except FileNotFoundError:  # it ended meanwhile
        pass
    return 0.0


class PeakRss:
    """Samples the process's resident memory every 50 ms while running."""

    def __init__(self):
        self.peak = rss_mib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, rss_mib())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=100_000)
    args = parser.parse_args()

    bench_django()
    from django.conf import settings
    from django.db import transaction
    from django_tenants.utils import tenant_context

    from apps.datasets.import_runs import run_import
    from apps.datasets.importers.jsonl import JsonlImporter
    from apps.datasets.imports import create_local_import
    from apps.datasets.models import Annotation, DataRow, Dataset
    from apps.projects.models import Project
    from tenants.services import create_tenant

    path = ROOT / ".local" / "bench" / f"rows-{args.rows}.jsonl"
    started = time.perf_counter()
    generate(path, args.rows)
    print(
        f"{args.rows:,} rows in {path.name} ({path.stat().st_size / 1024**2:.0f} MiB), "
        f"ready in {time.perf_counter() - started:.1f} s"
    )

    tenant = create_tenant(
        slug="importbench",
        name="Import bench",
        domain="importbench.bench",
        owner_email="o@example.com",
    )
    with tenant_context(tenant):
        project = Project.objects.create(name="bench")
        dataset = Dataset.objects.create(project=project, name="import")
        baseline = Dataset.objects.create(project=project, name="baseline")

        job = create_local_import(dataset=dataset, format="jsonl", path=str(path))
        rss_before = rss_mib()
        marks: dict[int, float] = {}

        def progress(job) -> None:
            for mark in (100_000, 500_000):
                if job.total >= mark and mark not in marks:
                    marks[mark] = rss_mib()

        with PeakRss() as peak:
            started = time.perf_counter()
            job = run_import(job_id=job.pk, on_progress=progress)
            elapsed = time.perf_counter() - started
        import_rate = job.total / elapsed
        print(
            f"import path, staged in {settings.IMPORT_PROCESSES} processes: {job.total:,} rows "
            f"({job.status}) in {elapsed:.1f} s"
            f" = {import_rate:,.0f} rows/s"
        )
        print(
            f"  RSS before {rss_before:.0f} MiB; at 100k rows {marks.get(100_000, 0):.0f} MiB; "
            f"at 500k {marks.get(500_000, 0):.0f} MiB; peak {peak.peak:.0f} MiB"
        )

        started = time.perf_counter()
        job_again = run_import(
            job_id=create_local_import(dataset=dataset, format="jsonl", path=str(path)).pk
        )
        elapsed = time.perf_counter() - started
        print(
            f"re-import of the same file: {job_again.unchanged:,} unchanged, "
            f"{job_again.created + job_again.updated} written, in {elapsed:.1f} s"
            f" = {job_again.total / elapsed:,.0f} rows/s"
        )

        _print_baselines(path, project, dataset, import_rate)
        _print_stage_figures(path, args.baseline_rows, project)

        # Baseline: the same rows, parsed by the same importer, saved with bulk_create.
        started = time.perf_counter()
        count = 0
        rows, annotations = [], []
        for record in JsonlImporter(str(path)).iter_records():
            if count >= args.baseline_rows:
                break
            count += 1
            rows.append(
                DataRow(
                    dataset=baseline,
                    external_id=record.external_id,
                    media_uri=record.media_uri,
                    width=record.width,
                    height=record.height,
                    metadata=record.metadata,
                    tags=list(record.tags),
                )
            )
            annotations.append(record.annotations)
            if len(rows) == 5000:
                _bulk_save(rows, annotations, Annotation, DataRow, transaction)
                rows, annotations = [], []
        if rows:
            _bulk_save(rows, annotations, Annotation, DataRow, transaction)
        baseline_rate = count / (time.perf_counter() - started)
        print(
            f"bulk_create baseline: {count:,} rows at {baseline_rate:,.0f} rows/s; "
            f"import path is {import_rate / baseline_rate:.1f}x faster"
        )


def _print_baselines(path: Path, project, dataset, import_rate: float) -> None:
    """The same file imported with its staging in one process, and on a thread of the worker
    (as before staging had processes of its own), and the file's lines COPYed raw into an
    unlogged table of one jsonb column: no checks, no annotations, no indexes, what Postgres
    takes at most."""
    from django.conf import settings
    from django.db import connection

    from apps.datasets.import_runs import run_import
    from apps.datasets.imports import create_local_import
    from apps.datasets.models import Dataset

    processes = settings.IMPORT_PROCESSES
    for baseline, where in ((1, "in one process"), (0, "on a thread")):
        again = Dataset.objects.create(project=project, name=f"staged {where}")
        settings.IMPORT_PROCESSES = baseline
        try:
            started = time.perf_counter()
            job = run_import(
                job_id=create_local_import(dataset=again, format="jsonl", path=str(path)).pk
            )
            rate = job.total / (time.perf_counter() - started)
        finally:
            settings.IMPORT_PROCESSES = processes
        print(
            f"baseline, staging {where}: {rate:,.0f} rows/s; in {processes} processes "
            f"{import_rate / rate:.2f}x that"
        )

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("CREATE UNLOGGED TABLE raw_rows (doc jsonb)")
        # CSV with quote and delimiter characters no JSON line holds: each line as it is.
        copy_sql = (
            "COPY raw_rows (doc) FROM STDIN WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')"
        )
        with path.open("rb") as lines, cursor.cursor.copy(copy_sql) as copy:
            while chunk := lines.read(1 << 20):
                copy.write(chunk)
        cursor.execute("SELECT count(*) FROM raw_rows")
        (copied,) = cursor.fetchone()
        cursor.execute("DROP TABLE raw_rows")
    raw_rate = copied / (time.perf_counter() - started)
    print(
        f"baseline, raw COPY of the file's lines into an unlogged table: {raw_rate:,.0f} rows/s;"
        f" the import is {100 * import_rate / raw_rate:.0f}% of it"
    )


def _print_stage_figures(path: Path, rows: int, project) -> None:
    """Each side of the import alone, on the first `rows` rows: parsing and staging (the
    thread that reads ahead), and the database writing rows already staged."""
    import itertools

    from django.conf import settings
    from django.db import transaction

    from apps.datasets.copy_writer import write_batch
    from apps.datasets.import_runs import rare_young_collections
    from apps.datasets.import_staging import staged_batches
    from apps.datasets.importers.jsonl import JsonlImporter
    from apps.datasets.models import Dataset

    records = itertools.islice(JsonlImporter(str(path)).iter_records(), rows)
    started = time.perf_counter()
    with rare_young_collections():
        batches = list(
            staged_batches(records, skip=0, batch_size=settings.IMPORT_BATCH_SIZE, media_prefix="")
        )
    parse_rate = rows / (time.perf_counter() - started)

    dataset = Dataset.objects.create(project=project, name="database alone")
    started = time.perf_counter()
    for batch in batches:
        with transaction.atomic():
            write_batch(dataset_id=dataset.pk, rows=batch.rows)
    write_rate = rows / (time.perf_counter() - started)
    print(
        f"each side alone, on {rows:,} rows: parsing and staging {parse_rate:,.0f} rows/s "
        f"(one core); the database writing staged rows {write_rate:,.0f} rows/s"
    )


def _bulk_save(rows, annotations, Annotation, DataRow, transaction) -> None:
    with transaction.atomic():
        saved = DataRow.objects.bulk_create(rows)
        Annotation.objects.bulk_create(
            Annotation(
                data_row=row,
                class_name=a.class_name,
                geometry_type=str(a.geometry_type),
                geometry=a.geometry,
                attributes=a.attributes,
                source=str(a.source),
            )
            for row, row_annotations in zip(saved, annotations, strict=True)
            for a in row_annotations
        )


if __name__ == "__main__":
    main()
