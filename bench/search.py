"""Search: index 1,000,000 rows (3 annotations each) and print docs/s; then run a fixed set
of 10 queries on both backends and print p50/p95 per backend and their ratio; then count and
facet (4 fields) with an empty query and with a filtering one, on both backends; then freeze
a 1,000,000-row snapshot.

Run: `make bench` (or `.venv/bin/python bench/search.py [--rows N]`).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.setup import bench_django

# Rows are generated in SQL (the import path has its own bench): 10 metadata keys, tags,
# and 3 annotations each with attributes.
ROWS_SQL = """
INSERT INTO datasets_datarow
    (dataset_id, external_id, media_uri, width, height, metadata, tags, content_hash,
     created_at, updated_at)
SELECT %(dataset)s, 'img-' || g, 's3://bench/' || g || '.jpg', 640 + g %% 1280, 480 + g %% 720,
    jsonb_build_object(
        'camera', (ARRAY['front', 'rear', 'left', 'right'])[1 + g %% 4],
        'frame', g,
        'speed', (g %% 1300) / 10.0,
        'night', g %% 7 = 0,
        'taken', to_char(date '2024-01-01' + (g %% 365), 'YYYY-MM-DD'),
        'weather', (ARRAY['sunny day', 'rainy night', 'foggy morning', 'snowy evening',
                          'clear night'])[1 + g %% 5],
        'city', 'city-' || (g %% 50),
        'lens', jsonb_build_object('focal', 20 + g %% 30, 'model', 'L' || (g %% 9)),
        'quality', 1 + g %% 5,
        'session', 's' || (g / 1000)),
    CASE WHEN g %% 10 = 0 THEN ARRAY['blurry', 'review'] ELSE ARRAY['sharp', 'train'] END,
    '', timestamptz '2026-01-01' + g * interval '1 second', now()
FROM generate_series(1, %(rows)s) AS g
"""
ANNOTATIONS_SQL = """
INSERT INTO datasets_annotation
    (data_row_id, class_name, geometry_type, geometry, attributes, source, created_at,
     updated_at)
SELECT r.id, (ARRAY['car', 'person', 'bicycle', 'truck', 'sign', 'bus'])[1 + (r.id * k) % 6],
    'bbox', jsonb_build_object('x', (r.id * k) % 1800, 'y', (r.id * k) % 1000,
                               'w', 10 + (r.id * k * 7) % 200, 'h', 10 + (r.id * k * 13) % 150),
    jsonb_build_object('occluded', (r.id + k) % 5 = 0, 'truncation', ((r.id * k) % 100) / 100.0),
    'human', now(), now()
FROM datasets_datarow r CROSS JOIN generate_series(1, 3) AS k
"""

QUERIES = [
    ("term", "metadata.camera = 'front'"),
    ("range", "metadata.speed >= 50 AND metadata.speed < 60"),
    ("IN", "metadata.city IN ('city-1', 'city-7', 'city-42')"),
    ("nested label group", "label(class = 'truck' AND area > 20000)"),
    ("label with attributes", "label(class = 'person' AND attributes.occluded = true)"),
    ("full-text", "text ~ 'rainy night'"),
    ("NOT", "NOT tags CONTAINS 'sharp' AND metadata.night = true"),
    (
        "OR of groups",
        "label(class = 'bus' AND area > 25000) OR label(class = 'sign' AND area < 400)",
    ),
    ("dates and sizes", "metadata.taken >= 2024-06-01 AND width > 1800"),
    ("nested metadata", "metadata.lens.focal = 42 AND metadata.lens.model = 'L4'"),
]


# A 4-field facet, with an empty query and with one that filters, timed beside a count.
FACET_FIELDS = ["label.class", "tags", "metadata.camera", "metadata.weather"]
FACET_QUERIES = [("empty", ""), ("filtered", "metadata.speed >= 50 AND metadata.speed < 60")]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def indexed_tenant(slug: str, rows: int):
    """A tenant served at `<slug>.localhost` (owner o@<slug>.com) holding `rows` generated
    rows with 3 annotations each, all indexed; its dataset."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    from apps.datasets.models import Dataset
    from apps.projects.models import Project
    from search.reindex import reindex
    from tenants.services import create_tenant

    tenant = create_tenant(
        slug=slug, name=slug, domain=f"{slug}.localhost", owner_email=f"o@{slug}.com"
    )
    with tenant_context(tenant):
        dataset = Dataset.objects.create(project=Project.objects.create(name="b"), name="d")
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")  # reindexed below
            cursor.execute(ROWS_SQL, {"dataset": dataset.pk, "rows": rows})
            cursor.execute(ANNOTATIONS_SQL, None)
            cursor.execute("SET session_replication_role = DEFAULT")
            cursor.execute("ANALYZE datasets_datarow; ANALYZE datasets_annotation")
        reindex()
    return tenant, dataset


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--es-runs", type=int, default=20)
    parser.add_argument("--pg-runs", type=int, default=5)
    args = parser.parse_args()

    bench_django()
    from django.db import connection
    from django_tenants.utils import tenant_context

    from apps.datasets.models import Dataset
    from apps.projects.models import Project
    from apps.slices import queries, searching, services
    from apps.slices.models import Slice
    from apps.slices.searching import Backend
    from search.client import elasticsearch_client
    from search.indexes import alias_name
    from search.reindex import reindex
    from tenants.services import create_tenant

    tenant = create_tenant(
        slug="searchbench", name="Search bench", domain="searchbench.bench", owner_email="o@e.com"
    )
    with tenant_context(tenant):
        project = Project.objects.create(name="bench")
        dataset = Dataset.objects.create(project=project, name="search")
        started = time.perf_counter()
        with connection.cursor() as cursor:
            # A bulk load: the outbox triggers are skipped here, the reindex below indexes all.
            cursor.execute("SET session_replication_role = replica")
            cursor.execute(ROWS_SQL, {"dataset": dataset.pk, "rows": args.rows})
            cursor.execute(ANNOTATIONS_SQL, None)
            cursor.execute("SET session_replication_role = DEFAULT")
            cursor.execute("ANALYZE datasets_datarow; ANALYZE datasets_annotation")
        print(
            f"{args.rows:,} rows and {3 * args.rows:,} annotations written in "
            f"{time.perf_counter() - started:.1f} s"
        )

        started = time.perf_counter()
        result = reindex()
        seconds = time.perf_counter() - started
        print(
            f"indexed {result.rows:,} rows in {seconds:.1f} s: {result.rows / seconds:,.0f} docs/s "
            f"(reindex: read from Postgres, build documents, bulk to Elasticsearch)"
        )
        client = elasticsearch_client()
        # An index at rest: merged as Elasticsearch's merge policy would in time.
        client.options(request_timeout=600).indices.forcemerge(
            index=alias_name(), max_num_segments=1
        )

        # As the ASGI server does after start-up (loupe/asgi.py).
        gc.collect()
        gc.freeze()
        print(
            f"\n{'query':<24}{'matches':>10}  {'ES p50':>8}{'ES p95':>8}  "
            f"{'PG p50':>8}{'PG p95':>8}  ratio p95"
        )
        es_all, pg_all = [], []
        for label, text in QUERIES:
            node = queries.prepare(text)
            timings = {}
            for backend, runs in (
                (Backend.ELASTICSEARCH, args.es_runs),
                (Backend.POSTGRES, args.pg_runs),
            ):
                samples = []
                for run in range(runs + 1):
                    t0 = time.perf_counter()
                    page = searching.search(node=node, page_size=100, cursor=None, backend=backend)
                    if run:  # the first run warms caches
                        samples.append((time.perf_counter() - t0) * 1000)
                assert page.backend == backend
                timings[backend] = (samples, page.total)
            es, total = timings[Backend.ELASTICSEARCH]
            pg, pg_total = timings[Backend.POSTGRES]
            assert total == pg_total, f"{label}: ES {total} != PG {pg_total}"
            es_all += es
            pg_all += pg
            print(
                f"{label:<24}{total:>10,}  "
                f"{percentile(es, 0.5):>7.1f} {percentile(es, 0.95):>7.1f}  "
                f"{percentile(pg, 0.5):>7.0f} {percentile(pg, 0.95):>7.0f}  "
                f"{percentile(pg, 0.95) / percentile(es, 0.95):>6.1f}x"
            )
        es95, pg95 = percentile(es_all, 0.95), percentile(pg_all, 0.95)
        print(
            f"{'all 10 queries':<24}{'':>10}  {percentile(es_all, 0.5):>7.1f} {es95:>7.1f}  "
            f"{percentile(pg_all, 0.5):>7.0f} {pg95:>7.0f}  {pg95 / es95:>6.1f}x"
        )
        print("(ms per search of 100 rows with exact total, hydrated from Postgres)")
        print_facet_timings(es_runs=args.es_runs, pg_runs=args.pg_runs)

        slice = Slice.objects.create(dataset=dataset, name="everything", query="")
        started = time.perf_counter()
        snapshot = services.create_snapshot(slice=slice, actor=None)
        packed = sum(map(len, snapshot.blocks.values_list("deltas", flat=True)))
        print(
            f"\nsnapshot of {snapshot.row_count:,} rows in {time.perf_counter() - started:.1f} s, "
            f"{packed / 1024:.0f} KiB of ids"
        )


def timed(call, runs: int, *, before=None) -> tuple[list[float], object]:
    """Milliseconds of each of `runs` calls after one that warms caches, and the last answer;
    `before` runs, untimed, ahead of each call."""
    samples = []
    for run in range(runs + 1):
        if before is not None:
            before()
        t0 = time.perf_counter()
        answer = call()
        if run:
            samples.append((time.perf_counter() - t0) * 1000)
    return samples, answer


def print_facet_timings(*, es_runs: int, pg_runs: int) -> None:
    """p50/p95 of a count and of a facet of FACET_FIELDS, per query and backend; both
    backends must give the same counts."""
    from apps.slices import facets, queries, searching
    from apps.slices.searching import Backend
    from search.client import elasticsearch_client
    from search.indexes import alias_name

    def forget_answers() -> None:
        # Elasticsearch keeps the answers of searches without hits until the next refresh;
        # timed from that cache, a repeated facet would cost nothing.
        elasticsearch_client().indices.clear_cache(index=alias_name(), request=True)

    fields = facets.facet_fields(FACET_FIELDS)
    print(f"\nfacets of {', '.join(FACET_FIELDS)} (top 10 each), beside a count:")
    print(f"{'query':<10}{'matches':>10}  {'backend':<14}{'count p50':>10}{'p95':>8}  "
          f"{'facets p50':>11}{'p95':>8}")  # fmt: skip
    for label, text in FACET_QUERIES:
        node = queries.prepare(text)
        answers = {}
        for backend, runs in ((Backend.ELASTICSEARCH, es_runs), (Backend.POSTGRES, pg_runs)):
            before = forget_answers if backend == Backend.ELASTICSEARCH else None
            counts, _ = timed(
                partial(searching.count, node=node, backend=backend), runs, before=before
            )
            faceted, found = timed(
                partial(
                    facets.facets,
                    node=node,
                    fields=fields,
                    size=10,
                    predicted_by=None,
                    backend=backend,
                ),
                runs,
                before=before,
            )
            assert found.backend == backend
            answers[backend] = (found.total, found.facets, found.other)
            print(
                f"{label:<10}{found.total:>10,}  {backend.value:<14}"
                f"{percentile(counts, 0.5):>10.1f}{percentile(counts, 0.95):>8.1f}  "
                f"{percentile(faceted, 0.5):>11.1f}{percentile(faceted, 0.95):>8.1f}"
            )
        es_answer, pg_answer = answers.values()
        assert es_answer == pg_answer, f"{label}: the backends' facets differ"
    print(
        "(ms per count, and per facet of 4 fields with the exact total; Elasticsearch's "
        "request cache emptied before each)"
    )


if __name__ == "__main__":
    main()
