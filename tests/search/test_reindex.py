"""Rebuilding a tenant's index with `manage.py reindex`, the live one serving throughout: no
failed search across the swap, every change made meanwhile in the new version, one reindex of
a tenant at a time, and a reindex that is killed or loses Elasticsearch mid-fill changes
nothing but leaves a half-built version, which the next reindex drops."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django_tenants.utils import tenant_context

from apps.datasets.models import DataRow
from search import outbox
from search.client import elasticsearch_client
from search.indexes import alias_name
from tests.datasets.conftest import jsonl, row
from tests.search.conftest import wait_until_indexed
from tests.search.test_indexing import search
from tests.search.test_indexing_resilience import documents_in
from tests.support import processes

ROWS = 2_000
EVERY_ROW = "metadata.version = 1"
# What a reindex run as a process writes at a time: small, so that its fill lasts long enough
# (a hundred requests) to be caught halfway.
SMALL_CHUNKS = 20


@pytest.fixture
def many_rows(tenant, dataset, run_import):
    rows = [row(i, metadata={"i": i, "version": 1}) for i in range(ROWS)]
    assert run_import(dataset["id"], jsonl(rows))["created"] == ROWS
    wait_until_indexed(tenant)
    return dataset


def versions(tenant) -> set[str]:
    """The tenant's indexes among all of the run's (`<prefix>-*`)."""
    client = elasticsearch_client()
    everything = client.indices.get(
        index=f"{settings.ELASTICSEARCH_INDEX_PREFIX}-*", expand_wildcards="all"
    )
    return {name for name in everything if name.startswith(f"{alias_name(tenant.schema_name)}-")}


def live_versions(tenant) -> set[str]:
    """The indexes behind the tenant's alias: those searches read."""
    return set(elasticsearch_client().indices.get_alias(name=alias_name(tenant.schema_name)))


def reindex_command(tenant) -> list[str]:
    return [
        sys.executable,
        "manage.py",
        "reindex",
        "--tenant",
        tenant.slug,
        "--chunk-size",
        str(SMALL_CHUNKS),
    ]


@contextmanager
def reindex_process(tenant, log_path: Path) -> Iterator[subprocess.Popen]:
    """`manage.py reindex` in a process of its own, as an operator runs it, its output in
    `log_path`; killed at the end if it still runs (stopped or not)."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            reindex_command(tenant),
            cwd=processes.ROOT,
            env=processes.process_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def fill_begun(tenant, reindexing: subprocess.Popen, timeout: float = 60.0) -> str:
    """Wait until the reindex has written documents to its new version, and name it."""
    client = elasticsearch_client()
    pattern = f"{alias_name(tenant.schema_name)}-*"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert reindexing.poll() is None, "the reindex ended before its fill was seen"
        live = live_versions(tenant)
        stats = client.indices.stats(index=pattern, metric="indexing")["indices"]
        for name, stat in stats.items():
            if name not in live and stat["primaries"]["indexing"]["index_total"]:
                return name
        time.sleep(0.02)
    raise AssertionError(f"the reindex wrote nothing to a new index in {timeout:.0f} s")


def test_reindex_swaps_the_index_with_no_failed_search(tenant, editor, many_rows):
    before = live_versions(tenant)
    answers, done = [], threading.Event()

    def keep_searching() -> None:
        try:
            while not done.is_set():
                try:
                    response = editor.post(
                        "/api/v1/search/",
                        {"query": EVERY_ROW, "backend": "elasticsearch"},
                        content_type="application/json",
                    )
                    ok = response.status_code == 200
                    answer = response.json()["total"] if ok else response.content[:300]
                    answers.append((response.status_code, answer))
                except Exception as exc:  # any failure at all is what this test looks for
                    answers.append((None, repr(exc)))
        finally:
            connections.close_all()

    searcher = threading.Thread(target=keep_searching)
    searcher.start()
    try:
        out = io.StringIO()
        call_command("reindex", tenant=tenant.slug, stdout=out, stderr=io.StringIO())
    finally:
        done.set()
        searcher.join()
    assert answers and set(answers) == {(200, ROWS)}
    after = live_versions(tenant)
    assert len(after) == 1 and after.isdisjoint(before)
    assert versions(tenant) == after  # the old version is dropped
    assert f"indexed {ROWS} rows" in out.getvalue()


def test_changes_made_during_a_reindex_reach_the_new_index(tenant, editor, many_rows, tmp_path):
    with reindex_process(tenant, tmp_path / "reindex.log") as reindexing:
        fill_begun(tenant, reindexing)
        # Edits and deletions by a user while the fill runs, each committed alone: behind the
        # fill's position at first, and ahead of it later.
        with tenant_context(tenant):
            for start in range(0, ROWS, 50):
                if reindexing.poll() is not None:
                    break
                DataRow.objects.filter(metadata__i__gte=start, metadata__i__lt=start + 50).update(
                    metadata={"version": 2}
                )
                DataRow.objects.filter(external_id=f"img-{start}").delete()
                outbox.request_drain()
        assert reindexing.wait(timeout=120) == 0, (tmp_path / "reindex.log").read_text()
    wait_until_indexed(tenant)
    with tenant_context(tenant):
        rows = DataRow.objects.using("default").count()
        changed = DataRow.objects.using("default").filter(metadata__version=2).count()
    assert changed > 0 and rows < ROWS
    assert documents_in(tenant) == rows
    assert search(editor, "metadata.version = 2")["total"] == changed


def test_the_new_index_takes_every_change_from_the_moment_it_exists(
    tenant, editor, many_rows, tmp_path
):
    with reindex_process(tenant, tmp_path / "reindex.log") as reindexing:
        fill_begun(tenant, reindexing)
        reindexing.send_signal(signal.SIGSTOP)
        # Rows the fill has copied already change now: only the drain can bring the changes to
        # the new version, and it must have done so before the fill goes on.
        with tenant_context(tenant):
            DataRow.objects.update(metadata={"version": 2})
            ids = DataRow.objects.using("default").order_by("id").values_list("id", flat=True)
            DataRow.objects.filter(id__in=[ids.first(), ids.last()]).delete()
            outbox.request_drain()
        wait_until_indexed(tenant)
        reindexing.send_signal(signal.SIGCONT)
        assert reindexing.wait(timeout=120) == 0, (tmp_path / "reindex.log").read_text()
    assert search(editor, "metadata.version = 2")["total"] == ROWS - 2
    assert documents_in(tenant) == ROWS - 2


def _kill(reindexing: subprocess.Popen, log_path: Path) -> None:
    reindexing.kill()
    assert reindexing.wait() == -signal.SIGKILL


def _stop_elasticsearch(reindexing: subprocess.Popen, log_path: Path) -> None:
    """Elasticsearch stops under the reindex (paused meanwhile, so that its fill cannot end
    first), which then goes on without it and fails."""
    reindexing.send_signal(signal.SIGSTOP)
    processes.services("elasticsearch-stop")
    try:
        reindexing.send_signal(signal.SIGCONT)
        assert reindexing.wait(timeout=60) == 1
    finally:
        processes.services("elasticsearch-start")
    assert "the live index is unchanged" in log_path.read_text()


@pytest.mark.serial  # Elasticsearch is stopped in one of them.
@pytest.mark.parametrize("die", [_kill, _stop_elasticsearch], ids=["killed", "elasticsearch-down"])
def test_a_reindex_that_dies_mid_fill_changes_nothing_and_the_next_cleans_up(
    tenant, editor, many_rows, tmp_path, die: Callable[[subprocess.Popen, Path], None]
):
    live = live_versions(tenant)
    log_path = tmp_path / "reindex.log"
    with reindex_process(tenant, log_path) as reindexing:
        half_built = fill_begun(tenant, reindexing)
        die(reindexing, log_path)
    # Once Elasticsearch, if it was stopped, has opened the live index again.
    client = elasticsearch_client()
    client.cluster.health(index=",".join(live), wait_for_status="green", timeout="60s")
    assert live_versions(tenant) == live
    assert search(editor, EVERY_ROW)["total"] == ROWS
    assert half_built in versions(tenant)

    # Not refused: the guard went with the dead reindex's database session.
    out = io.StringIO()
    call_command("reindex", tenant=tenant.slug, stdout=out, stderr=io.StringIO())
    assert versions(tenant) == live_versions(tenant) != live
    assert f"discarded {half_built}" in out.getvalue()
    assert search(editor, EVERY_ROW)["total"] == ROWS


def test_a_second_reindex_of_a_tenant_is_refused_while_one_runs(tenant, many_rows, tmp_path):
    with reindex_process(tenant, tmp_path / "first.log") as first:
        new = fill_begun(tenant, first)
        first.send_signal(signal.SIGSTOP)  # mid-fill for as long as the second one takes
        try:
            second = subprocess.run(
                reindex_command(tenant),
                cwd=processes.ROOT,
                env=processes.process_env(),
                capture_output=True,
                text=True,
                timeout=120,
            )
        finally:
            first.send_signal(signal.SIGCONT)
        assert first.wait(timeout=120) == 0, (tmp_path / "first.log").read_text()
    assert second.returncode != 0
    assert f"another reindex of {tenant.slug} is running" in second.stderr
    assert versions(tenant) == live_versions(tenant) == {new}
