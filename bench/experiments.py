"""Comparing an experiment's runs: GET /api/v1/experiments/<name>/compare/ over 200 runs of
50 epochs (4 metrics each), beside the baseline measured in the same run: the same figures
read the way a client without it must, the experiment's run list then each run's /metrics/.

Run: `make bench` (or `.venv/bin/python bench/experiments.py [--runs N] [--epochs N]`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.setup import bench_django

HOST = "experimentbench.localhost"  # ALLOWED_HOSTS holds .localhost
EXPERIMENT = "lr-sweep"


def make_runs(runs: int, epochs: int) -> None:
    """`runs` finished runs of one experiment over one snapshot, with their epochs' metrics."""
    from django.utils import timezone

    from apps.datasets.models import DataRow, Dataset
    from apps.projects.models import Project
    from apps.slices.models import Slice
    from apps.slices.services import create_snapshot
    from apps.training.models import EpochMetric, TrainingRun

    dataset = Dataset.objects.create(project=Project.objects.create(name="bench"), name="d")
    DataRow.objects.create(dataset=dataset, external_id="0", media_uri="https://example.com/0.png")
    slice_ = Slice.objects.create(dataset=dataset, name="all", query="")
    snapshot = create_snapshot(slice=slice_, actor=None)
    made = TrainingRun.objects.bulk_create(
        TrainingRun(
            name=f"run {i}", spec="small_cnn", slice=slice_, snapshot=snapshot,
            model_name="bench", experiment=EXPERIMENT, status="succeeded",
            hyperparameters={"epochs": epochs, "learning_rate": 0.0001 * (i + 1),
                             "batch_size": 64, "optimizer": "adam"},
            metrics={"val_accuracy": 0.9, "val_loss": 0.3}, epoch=epochs,
            started_at=timezone.now(), finished_at=timezone.now(),
        )
        for i in range(runs)
    )  # fmt: skip
    EpochMetric.objects.bulk_create(
        EpochMetric(
            run=run, epoch=epoch,
            metrics={"train_loss": 1 / epoch, "train_accuracy": 1 - 1 / (epoch + 1),
                     "val_loss": 1.1 / epoch, "val_accuracy": 1 - 1.1 / (epoch + 1)},
        )
        for run in made
        for epoch in range(1, epochs + 1)
    )  # fmt: skip


def timed(label: str, read, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        read()
        samples.append((time.perf_counter() - started) * 1000)
    median = statistics.median(samples)
    print(f"{label:<46} median {median:8.1f} ms   max {max(samples):8.1f} ms")
    return median


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    bench_django()
    from django.test import Client
    from django_tenants.utils import tenant_context

    from tenants.identity import dev_issuer
    from tenants.services import create_tenant

    tenant = create_tenant(
        slug="experimentbench", name="Experiment bench", domain=HOST,
        owner_email="o@example.com",
    )  # fmt: skip
    with tenant_context(tenant):
        make_runs(args.runs, args.epochs)
    token = dev_issuer.issue_token(email="o@example.com", tenant=tenant.slug, role="owner")
    client = Client(HTTP_HOST=HOST, HTTP_AUTHORIZATION=f"Bearer {token}")

    def compare() -> None:
        answer = client.get(f"/api/v1/experiments/{EXPERIMENT}/compare/").json()
        assert len(answer["runs"]) == args.runs, answer

    def one_run_at_a_time() -> None:
        url, ids = f"/api/v1/training-runs/?experiment={EXPERIMENT}", []
        while url:
            page = client.get(url).json()
            ids += [run["id"] for run in page["results"]]
            url = page["next"]
        for run_id in ids:
            assert client.get(f"/api/v1/training-runs/{run_id}/metrics/").status_code == 200
        assert len(ids) == args.runs

    print(f"an experiment of {args.runs} runs x {args.epochs} epochs, {args.rounds} reads each:")
    fast = timed("GET /experiments/<name>/compare/", compare, args.rounds)
    slow = timed("baseline: run list, then each run's /metrics/", one_run_at_a_time, args.rounds)
    print(f"compare answers in {fast / slow:.0%} of the baseline's time")


if __name__ == "__main__":
    main()
