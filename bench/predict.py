"""Online predict latency: the predict server (loupe.serving_asgi under uvicorn, started here)
called over one keep-alive HTTP connection, one digit image uploaded per call, for a
logistic regression and a small CNN trained on the digits, each with a session token (Redis
only) and a JWT (signature check plus the user and membership from Postgres). Prints p50
and p99 of the latency a client sees, the engine's forward_ms, and p99 of the overhead
beyond it (latency - forward_ms), whose aim is 2 ms or less for a session token.

Run: `make bench` (or `.venv/bin/python bench/predict.py [--calls N]`).
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.setup import bench_django

HOST = "predictbench.bench"
BOUNDARY = "loupe-bench-boundary"


def train(slice_id: int, spec: str, model: str, hyperparameters: dict) -> None:
    """One version of `model`, trained here through the worker's own code."""
    from apps.training.models import TrainingRun
    from apps.training.services import submit_run
    from workers.engines.trainer import train_run

    run = submit_run(
        name=model, spec=spec, slice=slice_id, model=model, hyperparameters=hyperparameters,
        actor=None,
    )  # fmt: skip
    train_run(job_id=run.pk)
    run = TrainingRun.objects.using("default").get(pk=run.pk)
    assert run.status == "succeeded", run.error


def multipart(image: bytes) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="d.png"\r\n'
        f"Content-Type: image/png\r\n\r\n".encode()
        + image
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def measure(port: int, model: str, token: str, body: bytes, calls: int) -> dict:
    """Latency (ms) and forward_ms of `calls` calls, after 50 to warm the path up."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    headers = {
        "Host": HOST,
        "Authorization": f"Bearer {token}",
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
    }
    path = f"/api/v1/models/{model}/versions/1/predict/"
    latency, forward = [], []
    for done in range(50 + calls):
        started = time.perf_counter()
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status == 200, answer
        if done >= 50:
            latency.append(elapsed)
            forward.append(json.loads(answer)["timing"]["forward_ms"])
    connection.close()
    overhead = sorted(t - f for t, f in zip(latency, forward, strict=True))
    latency.sort()
    forward.sort()
    return {
        "p50": _at(latency, 0.5),
        "p99": _at(latency, 0.99),
        "forward": _at(forward, 0.5),
        "overhead_p50": _at(overhead, 0.5),
        "overhead_p99": _at(overhead, 0.99),
    }


def _at(values: list[float], quantile: float) -> float:
    return values[min(len(values) - 1, int(len(values) * quantile))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000, help="calls per model and token")
    args = parser.parse_args()

    bench_django()
    from django.core.files.storage import default_storage
    from django.core.management import call_command
    from django_tenants.utils import tenant_context

    from apps.datasets.models import DataRow, Dataset
    from apps.slices.services import create_slice
    from tenants.identity import api_keys, dev_issuer, sessions
    from tenants.roles import Role
    from tenants.services import create_tenant
    from tests.support import processes

    tenant = create_tenant(
        slug="predictbench", name="Predict bench", domain=HOST, owner_email="o@example.com"
    )
    owner = tenant.memberships.get().user
    call_command("demo_data", "--tenant", tenant.slug, "--shapes", "1", stdout=io.StringIO())
    with tenant_context(tenant):
        digits = Dataset.objects.get(name="digits")
        slice_id = create_slice(dataset=digits, name="all", query="", actor=None).pk
        train(slice_id, "logistic_regression", "digits-lr", {})
        train(slice_id, "small_cnn", "digits-cnn", {"epochs": 1})
        media = DataRow.objects.filter(dataset=digits).order_by("id").first().media_uri
    with default_storage.open(media, "rb") as stored:
        body = multipart(stored.read())
    api_key, _ = api_keys.create_api_key(tenant=tenant, name="bench", role=Role.VIEWER, actor=owner)
    tokens = {
        "session token": sessions.create_session(api_key=api_key)[0],
        "JWT": dev_issuer.issue_token(email=owner.email, tenant=tenant.slug, role="owner"),
    }

    with (
        tempfile.TemporaryDirectory() as folder,
        processes.asgi_server(
            Path(folder) / "server.log", app="loupe.serving_asgi:application"
        ) as server,
    ):
        print(
            f"online predict, {args.calls} calls each over one keep-alive connection, "
            "a 32x32 PNG uploaded per call (ms):"
        )
        for model in ("digits-lr", "digits-cnn"):
            for label, token in tokens.items():
                got = measure(server.port, model, token, body, args.calls)
                print(
                    f"  {model:<10} {label:<13}  p50 {got['p50']:6.2f}  p99 {got['p99']:6.2f}"
                    f"   forward_ms p50 {got['forward']:6.3f}   overhead p50 "
                    f"{got['overhead_p50']:5.2f}  p99 {got['overhead_p99']:5.2f}"
                )
        print("  overhead = latency - forward_ms; aim: p99 2 ms or less with a session token")


if __name__ == "__main__":
    main()
