"""Dataset exports stream through the real server (uvicorn): the first bytes leave before the
last rows are read, a failure part-way is never mistaken for the end, routing follows the
request (replica, primary after the client's own writes or without a replica), and two
tenants exporting at once each get their own rows."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from django.db import connections
from django_tenants.utils import tenant_context

from apps.datasets.models import Annotation, DataRow, Dataset
from apps.projects.models import Project
from tenants.roles import Role
from tests.support.database import replica_stopped, wait_for_replica_catch_up

pytestmark = pytest.mark.serial  # The replica is stopped, and its replay paused, here.

# A dataset the server cannot have read to its end while the test holds the first chunk: it
# holds two pages of 2,000 rows and what the sockets buffer (4 MiB at most, see _export),
# and the third page, 16 MiB of JSON, is beyond that. (The notes compress in Postgres, so
# the rows are quick to make.)
FAT_ROWS = 6000
NOTE = "n" * 8000


def _add_rows(tenant, dataset_id: int, count: int, *, prefix: str = "img", note: str = "") -> list:
    """`count` rows, each with one box, in id order; their (id, external_id) pairs."""
    with tenant_context(tenant):
        for start in range(0, count, 2000):
            rows = DataRow.objects.bulk_create(
                DataRow(
                    dataset_id=dataset_id,
                    external_id=f"{prefix}-{i:06d}",
                    media_uri=f"s3://bucket/{prefix}/{i}.jpg",
                    width=640,
                    height=480,
                    metadata={"i": i, "note": note} if note else {"i": i},
                )
                for i in range(start, min(start + 2000, count))
            )
            Annotation.objects.bulk_create(
                Annotation(
                    data_row=row,
                    class_name="car",
                    geometry_type="bbox",
                    geometry={"x": 1, "y": 2, "w": 30, "h": 40},
                )
                for row in rows
            )
        made = list(
            DataRow.objects.filter(dataset_id=dataset_id)
            .order_by("id")
            .values_list("id", "external_id")
        )
    wait_for_replica_catch_up()  # the server reads the replica: it must hold them
    return made


@pytest.fixture
def fat_rows(tenant, dataset) -> list:
    return _add_rows(tenant, dataset["id"], FAT_ROWS, note=NOTE)


@contextmanager
def _export(server, client, dataset_id: int, fmt: str = "jsonl") -> Iterator[httpx.Response]:
    """The export's response as the server streams it, its body not read yet. The socket's
    receive buffer is small and fixed (no autotuning to tens of MiB), so the server can run
    ahead of what the test has read only by that, its own send buffer (4 MiB at most here)
    and the page or two it has in hand."""
    small_buffer = [(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)]
    headers = {
        "Host": client.defaults["HTTP_HOST"],
        "Authorization": client.defaults["HTTP_AUTHORIZATION"],
    }
    url = f"{server.url}/api/v1/datasets/{dataset_id}/export?format={fmt}"
    with (
        httpx.Client(transport=httpx.HTTPTransport(socket_options=small_buffer)) as http,
        http.stream("GET", url, headers=headers, timeout=60) as response,
    ):
        assert response.status_code == 200, response.read()
        yield response


def _external_ids(body: bytes) -> list[str]:
    return [json.loads(line)["external_id"] for line in body.splitlines()]


def test_first_bytes_arrive_before_the_last_rows_are_read(
    asgi_server, editor, tenant, dataset, fat_rows
):
    """Once the first chunk has arrived, the test deletes every row after the ones it holds
    and reads on. A body built before its first byte went out would still hold all the rows;
    one read as it is sent holds a prefix of the dataset (what the server had read by then)
    that stops short of its end."""
    with _export(asgi_server, editor, dataset["id"]) as response:
        chunks = response.iter_bytes()
        first = next(chunks)
        held = first.count(b"\n")  # complete lines
        with tenant_context(tenant):
            DataRow.objects.filter(dataset_id=dataset["id"], pk__gt=fat_rows[held][0]).delete()
        wait_for_replica_catch_up()
        body = first + b"".join(chunks)
    exported = _external_ids(body)
    assert len(exported) < len(fat_rows)
    assert exported == [external_id for _, external_id in fat_rows[: len(exported)]]


def _replica_clock():
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def _rows_read_on_the_replica_since(started) -> bool:
    """Whether another session (the server's) has read rows or annotations on the replica."""
    with connections["replica"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND query_start >= %s AND query ~ %s",
            [started, 'FROM "datasets_(datarow|annotation)"'],
        )
        return cursor.fetchone()[0] > 0


@contextmanager
def _export_from_the_replica(server, client, dataset_id: int, fmt: str):
    """The export's first chunk and the rest to come, once the server reads the export
    from the replica: a server that found it down lately keeps to the primary for
    REPLICA_RETRY_SECONDS (an earlier test may have stopped it), so until then the export
    is started again."""
    deadline = time.monotonic() + 30
    while True:
        started = _replica_clock()
        with _export(server, client, dataset_id, fmt) as response:
            chunks = response.iter_bytes()
            first = next(chunks)
            if _rows_read_on_the_replica_since(started):
                yield first, chunks
                return
        assert time.monotonic() < deadline, "the server never read the export from the replica"
        time.sleep(0.5)


def _ends_with_an_error_line(body: bytes) -> bool:
    *rows, last = body.splitlines()
    error = json.loads(last).get("error", {})
    return error.get("code") == "database_unavailable" and all(b'"external_id"' in r for r in rows)


def _is_not_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except json.JSONDecodeError:
        return True
    return False


@pytest.mark.parametrize(
    ("fmt", "body_tells"), [("jsonl", _ends_with_an_error_line), ("coco", _is_not_json)]
)
def test_a_replica_stopped_mid_export_ends_it_with_an_error_never_a_short_file(
    asgi_server, editor, dataset, fat_rows, fmt, body_tells
):
    """The server reads the replica; it stops while the test holds the first chunk. The
    response must not end as a complete file would: the connection closes without the last
    chunk (the client raises), and the body says so in its format's way."""
    with (
        pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"),
        _export_from_the_replica(asgi_server, editor, dataset["id"], fmt) as (first, chunks),
    ):
        received = [first]
        with replica_stopped():
            received.extend(chunks)
    assert body_tells(b"".join(received))


def test_an_export_begun_with_the_replica_stopped_is_whole_from_the_primary(
    asgi_server, editor, tenant, dataset
):
    """Only the router decides: the client's own writes no longer pin it to the primary."""
    made = _add_rows(tenant, dataset["id"], 4500)  # past two pages
    # A read once the replica holds the client's writes lifts their pin (see last_write.py).
    assert editor.get(f"/api/v1/datasets/{dataset['id']}/").status_code == 200
    with replica_stopped(), _export(asgi_server, editor, dataset["id"]) as response:
        body = response.read()
    assert _external_ids(body) == [external_id for _, external_id in made]


@contextmanager
def _replay_paused() -> Iterator[None]:
    """The replica replays nothing for the block: what is written meanwhile is on the
    primary alone."""
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")
    try:
        yield
    finally:
        with connections["replica"].cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")


def test_an_export_after_the_clients_own_write_holds_it_while_replay_is_paused(
    asgi_server, editor, tenant, dataset
):
    """The write pins the client's next requests to the primary until the replica has
    replayed it; the export's body, read after the view has returned, must be pinned too."""
    made = _add_rows(tenant, dataset["id"], 2500)
    with _replay_paused():
        patched = editor.patch(
            f"/api/v1/rows/{made[-1][0]}/", {"tags": ["fresh"]}, content_type="application/json"
        )
        assert patched.status_code == 200, patched.content
        with _export(asgi_server, editor, dataset["id"]) as response:
            lines = response.read().splitlines()
    assert json.loads(lines[-1])["tags"] == ["fresh"]


def test_two_tenants_exporting_at_once_each_get_only_their_rows(
    asgi_server, make_tenant, make_member, client_for
):
    """Both streams are open at once (each thread holds its first chunk until the other has
    its own), on datasets too large for the server to have read either whole by then, so
    the server reads the two tenants' rows side by side."""
    exports = {}
    tenants = {"left": make_tenant(), "right": make_tenant()}
    for name, tenant in tenants.items():
        with tenant_context(tenant):
            project = Project.objects.create(name="drive")
            dataset = Dataset.objects.create(project=project, name="frames")
        rows = _add_rows(tenant, dataset.pk, FAT_ROWS, prefix=name, note=NOTE)
        client = client_for(tenant, make_member(tenant, Role.VIEWER))
        exports[name] = (client, dataset.pk, [external_id for _, external_id in rows])
    both_started = threading.Barrier(2, timeout=30)
    bodies: dict[str, bytes] = {}

    def export(name: str) -> None:
        client, dataset_id, _ = exports[name]
        with _export(asgi_server, client, dataset_id) as response:
            chunks = response.iter_bytes()
            first = next(chunks)
            both_started.wait()
            bodies[name] = first + b"".join(chunks)

    threads = [threading.Thread(target=export, args=(name,)) for name in exports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert {name: _external_ids(body) for name, body in bodies.items()} == {
        name: ids for name, (_, _, ids) in exports.items()
    }
