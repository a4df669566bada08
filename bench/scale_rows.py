"""The scale bench's rows: SCALE_ROWS rows into one tenant through the real import path, then
what a tenant that large costs and how fast it answers.

The rows go as JSONL files of SCALE_CHUNK_ROWS rows each, each uploaded to
`POST /datasets/<id>/imports/` on the server the bench starts and imported by the worker it
starts. Loupe sets no upload limit of its own beyond the tenant's storage quota (1 TiB by
default), but an upload lies on disk several times over while it lands (the generated file,
the server's spooled request body, Django's temporary upload, the stored upload the job
reads): in chunks, that is a chunk's worth, not 6 GB per copy at 10M rows, and each
generated file is deleted once sent.

Indexing drains once the imports are done, on an index worker started then, so that the
import and the indexing are each timed alone.
"""

from __future__ import annotations

import datetime
import sys
import time
from pathlib import Path

from bench.scale_data import chunk_files
from bench.search import FACET_FIELDS, FACET_QUERIES, percentile, timed
from bench.search_api import compare_api_and_elasticsearch

SLUG = "scalerows"
HOST = f"{SLUG}.localhost"  # ALLOWED_HOSTS holds .localhost
TOKEN_SECONDS = 3 * 24 * 3600  # outlasts the whole run at full size
COUNT_TARGET_MS = 1000
SNAPSHOT_TARGET_S = 10
PAGE_SIZE = 100


def progress(message: str) -> None:
    print(f"[scale] {message}", file=sys.stderr, flush=True)


def status_mib(pid: int, field: str) -> float:
    """A field of /proc/<pid>/status in MiB: VmRSS now, or VmHWM, the most it ever held."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return 0.0


def owner_headers(tenant, host: str) -> dict:
    """The headers of the tenant's owner's requests, its token linked to the user."""
    from tenants.identity import dev_issuer
    from tenants.identity.authenticate import authenticate_token

    owner = tenant.memberships.get().user
    token = dev_issuer.issue_token(
        email=owner.email, tenant=tenant.slug, role="owner", ttl_seconds=TOKEN_SECONDS
    )
    authenticate_token(token, client="bench")  # first sight links the subject
    return {"Host": host, "Authorization": f"Bearer {token}"}


def run_rows(*, rows: int, chunk_rows: int, runs: int, work: Path) -> None:
    import httpx
    from django_tenants.utils import tenant_context

    from apps.datasets.models import Dataset
    from apps.projects.models import Project
    from tenants.services import create_tenant
    from tests.support import processes

    tenant = create_tenant(slug=SLUG, name="Scale", domain=HOST, owner_email=f"o@{SLUG}.com")
    with tenant_context(tenant):
        dataset = Dataset.objects.create(project=Project.objects.create(name="scale"), name="d")
    headers = owner_headers(tenant, HOST)
    print(f"== {rows:,} rows (10 metadata keys, 3 boxes each) into one tenant ==")
    with (
        processes.asgi_server(work / "server.log") as server,
        httpx.Client(base_url=server.url, headers=headers, timeout=600) as client,
    ):
        with processes.celery_worker(work / "import-worker.log", queues="default") as worker:
            import_all(client, dataset.pk, rows=rows, chunk_rows=chunk_rows, work=work)
            print(
                f"  import worker (pid {worker.process.pid}): peak RSS "
                f"{status_mib(worker.process.pid, 'VmHWM'):.0f} MiB, now "
                f"{status_mib(worker.process.pid, 'VmRSS'):.0f} MiB"
            )
        with processes.celery_worker(work / "index-worker.log", queues="index"):
            drain_index(tenant, rows)
        print_disk(tenant, rows)
        print(f"\nthe fixed queries, {runs} runs each: a page through the API against ES (ms)")
        compare_api_and_elasticsearch(client, tenant, runs=runs)
        print_counts_and_facets(client, tenant, runs=runs)
        print_snapshot(client, tenant, dataset.pk, runs=runs)


def import_all(client, dataset_id: int, *, rows: int, chunk_rows: int, work: Path) -> None:
    """Each chunk generated, uploaded and imported in turn; prints the import's figures."""
    generating = uploading = importing = 0.0
    imported = 0
    started = time.perf_counter()
    chunks = chunk_files(work / "chunks", rows=rows, chunk_rows=chunk_rows)
    while True:
        t0 = time.perf_counter()
        chunk = next(chunks, None)
        generating += time.perf_counter() - t0
        if chunk is None:
            break
        path, count = chunk
        t0 = time.perf_counter()
        with path.open("rb") as handle:
            response = client.post(
                f"/api/v1/datasets/{dataset_id}/imports/",
                data={"format": "jsonl"},
                files={"file": (path.name, handle, "application/x-ndjson")},
            )
        assert response.status_code == 202, response.text
        uploading += time.perf_counter() - t0
        size = path.stat().st_size
        path.unlink()
        job = wait_for_import(client, response.json()["id"])
        assert job["status"] == "succeeded" and job["created"] == count, job
        importing += _seconds(job["started_at"], job["finished_at"])
        imported += count
        progress(
            f"{imported:,}/{rows:,} rows imported ({size / 1024**2:.0f} MiB chunk), "
            f"{time.perf_counter() - started:.0f} s in"
        )
    wall = time.perf_counter() - started
    print(
        f"  import: {imported:,} rows in {importing:.1f} s of import jobs = "
        f"{imported / importing:,.0f} rows/s (chunks of {chunk_rows:,} rows); "
        f"with generating ({generating:.1f} s) and uploading ({uploading:.1f} s) the files: "
        f"{wall:.0f} s, {imported / wall:,.0f} rows/s"
    )


def wait_for_import(client, job_id: int) -> dict:
    while True:
        job = client.get(f"/api/v1/imports/{job_id}/").json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(1)


def _seconds(started: str, finished: str) -> float:
    return (
        datetime.datetime.fromisoformat(finished) - datetime.datetime.fromisoformat(started)
    ).total_seconds()


def drain_index(tenant, rows: int) -> None:
    """Until the tenant's outbox is empty and its index holds every row; prints docs/s."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    from search.client import elasticsearch_client
    from search.indexes import alias_name

    es = elasticsearch_client()
    started = time.perf_counter()
    reported = started
    with tenant_context(tenant):
        while True:
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM search_outbox")
                (waiting,) = cursor.fetchone()
            if not waiting and es.indices.exists_alias(name=alias_name()):
                es.indices.refresh(index=alias_name())
                if es.count(index=alias_name())["count"] == rows:
                    break
            if time.perf_counter() - reported > 30:
                reported = time.perf_counter()
                progress(f"indexing: {waiting:,} outbox entries waiting")
            time.sleep(2)
        stats = es.indices.stats(index=alias_name(), metric="indexing")
    seconds = time.perf_counter() - started
    # Documents written, rewrites of a row included: what Elasticsearch was asked to do.
    written = stats["_all"]["primaries"]["indexing"]["index_total"]
    print(
        f"  indexing: {rows:,} rows drained from the outbox in {seconds:.1f} s = "
        f"{rows / seconds:,.0f} rows/s; {written:,} documents written = "
        f"{written / seconds:,.0f} docs/s (one index worker, started once the imports ended)"
    )


def print_disk(tenant, rows: int) -> None:
    """Postgres: every table of the tenant's schema with its indexes and TOAST (on the
    primary; the replica holds as much again). Elasticsearch: the index's store."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    from search.client import elasticsearch_client
    from search.indexes import alias_name

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY 2 DESC",
            [tenant.schema_name],
        )
        tables = cursor.fetchall()
    with tenant_context(tenant):
        stats = elasticsearch_client().indices.stats(index=alias_name(), metric="store,docs")
    es_bytes = stats["_all"]["primaries"]["store"]["size_in_bytes"]
    pg_bytes = sum(size for _, size in tables)
    per_million = 1e6 / rows / 1024**3
    largest = ", ".join(f"{name} {size / 1024**3:.2f}" for name, size in tables[:3])
    print(
        f"  disk: Postgres {pg_bytes / 1024**3:.2f} GiB ({largest}) = "
        f"{pg_bytes * per_million:.2f} GiB per million rows, on the primary (the replica "
        f"holds as much again); Elasticsearch {es_bytes / 1024**3:.2f} GiB = "
        f"{es_bytes * per_million:.2f} GiB per million rows (as drained, not force-merged)"
    )


def print_counts_and_facets(client, tenant, *, runs: int) -> None:
    """p50/p95 of `POST /search/count/` and of `/search/facets/` on FACET_FIELDS, beside the
    target; Elasticsearch's request cache emptied before each (it would answer a repeat)."""
    from django_tenants.utils import tenant_context

    from search.client import elasticsearch_client
    from search.indexes import alias_name

    with tenant_context(tenant):
        alias = alias_name()
    es = elasticsearch_client()

    def forget_answers() -> None:
        es.indices.clear_cache(index=alias, request=True)

    def post(path: str, body: dict) -> dict:
        response = client.post(path, json=body)
        assert response.status_code == 200, response.text
        return response.json()

    print(
        f"\ncount and a facet of {', '.join(FACET_FIELDS)} through the API, {runs} runs "
        f"(ms; target {COUNT_TARGET_MS} ms or less):"
    )
    print(f"{'query':<10}{'matches':>12}{'count p50':>11}{'p95':>8}{'facets p50':>12}{'p95':>8}")
    for label, text in FACET_QUERIES:
        counts, counted = timed(
            lambda text=text: post("/api/v1/search/count/", {"query": text}),
            runs,
            before=forget_answers,
        )
        faceted, _ = timed(
            lambda text=text: post(
                "/api/v1/search/facets/", {"query": text, "fields": FACET_FIELDS, "size": 10}
            ),
            runs,
            before=forget_answers,
        )
        worst = max(percentile(counts, 0.95), percentile(faceted, 0.95))
        print(
            f"{label:<10}{counted['count']:>12,}{percentile(counts, 0.5):>11.1f}"
            f"{percentile(counts, 0.95):>8.1f}{percentile(faceted, 0.5):>12.1f}"
            f"{percentile(faceted, 0.95):>8.1f}  "
            f"{'meets' if worst <= COUNT_TARGET_MS else 'MISSES'} the target"
        )


def print_snapshot(client, tenant, dataset_id: int, *, runs: int) -> None:
    """A slice of every row frozen through the API, then its first page against its last."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    from apps.slices.searching import encode_cursor

    response = client.post(
        "/api/v1/slices/", json={"dataset": dataset_id, "name": "everything", "query": ""}
    )
    assert response.status_code == 201, response.text
    slice_id = response.json()["id"]
    started = time.perf_counter()
    response = client.post(f"/api/v1/slices/{slice_id}/snapshots/")
    seconds = time.perf_counter() - started
    assert response.status_code == 201, response.text
    snapshot = response.json()
    print(
        f"\nsnapshot of {snapshot['row_count']:,} rows through the API in {seconds:.1f} s "
        f"(target {SNAPSHOT_TARGET_S} s or less: "
        f"{'meets' if seconds <= SNAPSHOT_TARGET_S else 'MISSES'} it)"
    )
    # The last page starts after the row PAGE_SIZE + 1 from the end; its cursor is the one a
    # client would hold there (a page's cursor names the last row it gave).
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM datasets_datarow WHERE dataset_id = %s ORDER BY id DESC "
            "OFFSET %s LIMIT 1",
            [dataset_id, PAGE_SIZE],
        )
        (before_last,) = cursor.fetchone()
    rows_url = f"/api/v1/slices/{slice_id}/snapshots/{snapshot['number']}/rows/"
    pages = {}
    for label, cursor in (("first", ""), ("last", encode_cursor(before_last))):

        def get(cursor=cursor) -> dict:
            response = client.get(rows_url, params={"page_size": PAGE_SIZE, "cursor": cursor})
            assert response.status_code == 200, response.text
            return response.json()

        pages[label], page = timed(get, runs)
        assert len(page["rows"]) == PAGE_SIZE
        assert (page["next_cursor"] is None) == (label == "last")
    first, last = pages["first"], pages["last"]
    print(
        f"  a page of {PAGE_SIZE} rows, {runs} runs: first p50 {percentile(first, 0.5):.1f} "
        f"p95 {percentile(first, 0.95):.1f} ms; last p50 {percentile(last, 0.5):.1f} p95 "
        f"{percentile(last, 0.95):.1f} ms; last/first p50 "
        f"{percentile(last, 0.5) / percentile(first, 0.5):.2f}x (target: the same cost)"
    )
