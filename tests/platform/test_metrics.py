"""/metrics: the families it serves in the Prometheus text format, requests counted by route
(in process, through uvicorn, and merged over a server's processes), jobs and outboxes
counted as work runs, and who may read it."""

from __future__ import annotations

import contextlib
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from ipaddress import ip_network

import httpx
import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.datasets.conftest import (  # noqa: F401  (fixtures)
    dataset,
    editor,
    jsonl,
    row,
    run_import,
    upload,
    wait_for_job,
)
from tests.support import processes

FAMILIES = {
    "loupe_http_requests",
    "loupe_http_request_duration_seconds",
    "loupe_jobs",
    "loupe_celery_queue_length",
    "loupe_search_outbox_entries",
    "loupe_search_outbox_oldest_age_seconds",
    "loupe_replica_lag_seconds",
    "loupe_component_up",
}
DATASET_ROUTE = "/api/v1/datasets/<int:dataset_id>/"


class Scrape:
    """One scrape, parsed."""

    def __init__(self, text: str):
        self.families = {family.name: family for family in text_string_to_metric_families(text)}

    def sample(self, name: str, **labels: str) -> float | None:
        """The sample's value, None where the series does not exist."""
        family = self.families[name.removesuffix("_total").removesuffix("_count")]
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return found.value
        return None

    def value(self, name: str, **labels: str) -> float:
        """The sample's value, 0 where the series does not exist yet."""
        return self.sample(name, **labels) or 0.0

    def routes(self) -> set[str]:
        return {
            found.labels["route"]
            for found in self.families["loupe_http_requests"].samples
            if "route" in found.labels
        }


def scrape(client: Client | None = None) -> Scrape:
    response = (client or Client()).get("/metrics")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return Scrape(response.content.decode())


def scrape_server(url: str, **headers: str) -> Scrape:
    response = httpx.get(f"{url}/metrics", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return Scrape(response.text)


def test_metrics_serve_every_family_with_every_component_up(tenant):
    metrics = scrape()
    assert set(metrics.families) >= FAMILIES
    for component in ("primary", "replica", "redis", "elasticsearch"):
        assert metrics.value("loupe_component_up", component=component) == 1
    for queue in ("default", "index", "gpu"):
        assert metrics.sample("loupe_celery_queue_length", queue=queue) is not None
    assert metrics.sample("loupe_search_outbox_entries", tenant=tenant.schema_name) == 0
    assert metrics.sample("loupe_replica_lag_seconds") >= 0


def test_requests_count_under_their_route_pattern_never_their_path(editor, dataset):  # noqa: F811
    labels = {"method": "GET", "route": DATASET_ROUTE}
    before = scrape()
    assert editor.get(f"/api/v1/datasets/{dataset['id']}/").status_code == 200
    assert editor.get(f"/api/v1/datasets/{dataset['id']}/").status_code == 200
    assert editor.get("/api/v1/datasets/987654321/").status_code == 404
    after = scrape()

    def moved(sample: str, **extra: str) -> float:
        return after.value(sample, **labels, **extra) - before.value(sample, **labels, **extra)

    assert moved("loupe_http_requests_total", status="200") == 2
    assert moved("loupe_http_requests_total", status="404") == 1
    assert moved("loupe_http_request_duration_seconds_count") == 3
    assert DATASET_ROUTE in after.routes()
    assert f"/api/v1/datasets/{dataset['id']}/" not in after.routes()


def test_requests_through_uvicorn_are_counted_and_scraped_on_any_host(asgi_server):
    labels = {"method": "GET", "route": "/healthz", "status": "200"}
    # Prometheus scrapes a container by its service name, a host no Domain row holds.
    before = scrape_server(asgi_server.url, Host="web:8000")
    for _ in range(3):
        assert httpx.get(f"{asgi_server.url}/healthz").status_code == 200
    after = scrape_server(asgi_server.url, Host="web:8000")
    moved = after.value("loupe_http_requests_total", **labels) - before.value(
        "loupe_http_requests_total", **labels
    )
    assert moved == 3


def test_multiprocess_mode_counts_every_process_of_the_server(django_db_setup, tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {"WEB_CONCURRENCY": "2", "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    labels = {"method": "GET", "route": "/healthz", "status": "200"}
    with processes.asgi_server(tmp_path / "server.log", env=env) as server:
        before = scrape_server(server.url)
        # Concurrent connections, so that both processes answer some.
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(
                pool.map(lambda _: httpx.get(f"{server.url}/healthz").status_code, range(40))
            )
        assert statuses == [200] * 40
        # Whichever process answers each scrape, both see the server's total.
        after = [scrape_server(server.url) for _ in range(4)]
    for scraped in after:
        moved = scraped.value("loupe_http_requests_total", **labels) - before.value(
            "loupe_http_requests_total", **labels
        )
        assert moved == 40


@contextlib.contextmanager
def queue_paused(queue: str):
    """The session worker stops taking tasks from `queue`: they wait in the broker."""
    session_worker = f"celery@{socket.gethostname()}"
    processes.consume(queue, worker=session_worker, on=False)
    try:
        yield
    finally:
        processes.consume(queue, worker=session_worker, on=True)


def test_an_import_is_counted_queued_then_succeeded(editor, dataset, celery_worker):  # noqa: F811
    queued = {"kind": "import", "status": "queued"}
    succeeded = {"kind": "import", "status": "succeeded"}
    before = scrape()
    with queue_paused("default"):
        response = upload(editor, dataset["id"], jsonl([row(1), row(2)]), "rows.jsonl", "jsonl")
        assert response.status_code == 202, response.content
        waiting = scrape()
    assert waiting.value("loupe_jobs", **queued) == before.value("loupe_jobs", **queued) + 1
    assert wait_for_job(editor, response.json()["id"])["status"] == "succeeded"
    done = scrape()
    assert done.value("loupe_jobs", **queued) == before.value("loupe_jobs", **queued)
    assert done.value("loupe_jobs", **succeeded) == before.value("loupe_jobs", **succeeded) + 1


def test_a_task_no_worker_has_taken_is_counted_in_its_queue(editor, dataset, celery_worker):  # noqa: F811
    with queue_paused("default"):
        before = scrape().value("loupe_celery_queue_length", queue="default")
        response = upload(editor, dataset["id"], jsonl([row(1)]), "rows.jsonl", "jsonl")
        assert response.status_code == 202, response.content
        waiting = scrape().value("loupe_celery_queue_length", queue="default")
    # At least: beat may send its sweeps meanwhile.
    assert waiting >= before + 1
    wait_for_job(editor, response.json()["id"])


def test_an_undrained_outbox_is_counted_for_its_tenant(tenant, dataset, run_import):  # noqa: F811
    with queue_paused("index"):
        run_import(dataset["id"], jsonl([row(i) for i in range(5)]))
        waiting = scrape()
    assert waiting.value("loupe_search_outbox_entries", tenant=tenant.schema_name) >= 5
    assert waiting.value("loupe_search_outbox_oldest_age_seconds", tenant=tenant.schema_name) > 0
    deadline = time.monotonic() + 60
    while scrape().value("loupe_search_outbox_entries", tenant=tenant.schema_name):
        assert time.monotonic() < deadline, "the outbox was not drained"
        time.sleep(0.5)


@pytest.mark.parametrize(
    ("client_kwargs", "trusted_proxies"),
    [
        pytest.param({"REMOTE_ADDR": "203.0.113.7"}, [], id="outside-the-networks"),
        pytest.param(
            {"REMOTE_ADDR": "203.0.113.7", "HTTP_AUTHORIZATION": "Bearer not-the-token"},
            [],
            id="wrong-token",
        ),
        pytest.param(
            {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.7"},
            [ip_network("127.0.0.1/32")],
            id="outside-client-through-a-local-proxy",
        ),
    ],
)
def test_a_caller_outside_the_allowed_networks_without_the_token_is_refused(
    live_db, settings, client_kwargs, trusted_proxies
):
    settings.METRICS_TOKEN = "the-metrics-token"
    settings.TRUSTED_PROXIES = trusted_proxies
    response = Client(**client_kwargs).get("/metrics")
    assert response.status_code == 403
    assert response.json()["code"] == "metrics_forbidden"


def test_the_metrics_token_admits_a_caller_from_anywhere(live_db, settings):
    settings.METRICS_TOKEN = "the-metrics-token"
    client = Client(REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer the-metrics-token")
    assert set(scrape(client).families) >= FAMILIES
