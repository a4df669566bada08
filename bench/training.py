"""Training throughput: the small CNN on scikit-learn's digits through the platform (rows from
a snapshot, images from storage decoded by Pillow, events, checkpoints and validation each
epoch) beside a bare torch loop over the same images as tensors in memory (same model, seed,
optimizer, batch and validation), in the same run, after a short run has warmed torch up for
both. Their ratio is the platform's overhead. Then the peak RSS of a training process at 1x
and 10x the rows.

Run: `make bench` (or `.venv/bin/python bench/training.py [--epochs N] [--scale N]`).
"""

from __future__ import annotations

import argparse
import io
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.setup import bench_django


def bare_loop(engine, train, validation, epochs: int, batch_size: int, lr: float) -> float:
    """Seconds for `epochs` epochs of training and validation over in-memory tensors."""
    import torch
    from torch import nn

    cpu = torch.device("cpu")
    x = engine.to_device(torch.stack([engine.pixels(image) for image, _ in train]), cpu)
    y = torch.tensor([label for _, label in train])
    vx = engine.to_device(torch.stack([engine.pixels(image) for image, _ in validation]), cpu)
    vy = torch.tensor([label for _, label in validation])
    model = engine.model
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    generator = torch.Generator().manual_seed(0)
    started = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for index in torch.randperm(len(x), generator=generator).split(batch_size):
            optimizer.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(x[index]), y[index]).backward()
            optimizer.step()
        scheduler.step()
        model.eval()
        with torch.no_grad():
            for start in range(0, len(vx), batch_size):
                logits = model(vx[start : start + batch_size])
                (logits.argmax(1) == vy[start : start + batch_size]).sum()
    return time.perf_counter() - started


def platform_run(slice_id: int, epochs: int) -> tuple[float, dict, dict]:
    """Seconds from the run's start to its last epoch, through the worker's own code."""
    from apps.jobs.models import JobEvent
    from apps.training.models import TrainingRun
    from apps.training.services import submit_run
    from workers.engines.trainer import train_run

    run = submit_run(
        name="bench", spec="small_cnn", slice=slice_id, hyperparameters={"epochs": epochs},
        actor=None,
    )  # fmt: skip
    train_run(job_id=run.pk)
    run = TrainingRun.objects.using("default").get(pk=run.pk)
    assert run.status == "succeeded", run.error
    times = dict(
        JobEvent.objects.using("default")
        .filter(kind="training_run", job_id=run.pk, type__in=["run.started", "run.succeeded"])
        .values_list("type", "created_at")
    )
    epoch_ends = list(
        JobEvent.objects.using("default")
        .filter(kind="training_run", job_id=run.pk, type="epoch.finished")
        .order_by("seq")
        .values_list("created_at", flat=True)
    )
    seconds = (epoch_ends[-1] - times["run.started"]).total_seconds()
    return seconds, run.split, run.metrics


def peak_rss_of_run(tenant_slug: str, slice_id: int) -> float:
    """Peak RSS (MiB) of a fresh process training one epoch on the slice: the largest of it
    and its DataLoader workers."""
    done = subprocess.run(
        [sys.executable, __file__, "--train-one-epoch", tenant_slug, str(slice_id)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def _train_one_epoch(tenant_slug: str, slice_id: int) -> None:
    bench_django(recreate=False)
    from django_tenants.utils import tenant_context

    from tenants.models import Tenant

    with tenant_context(Tenant.objects.get(slug=tenant_slug)):
        platform_run(slice_id, epochs=1)
    peak = max(
        resource.getrusage(who).ru_maxrss
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    print(peak / 1024)


def many_digits_slice(project, scale: int):
    """A slice of the digits `scale` times over, under other ids, imported through the ZIP
    import: a bigger snapshot of the same images."""
    from apps.datasets.import_runs import run_import
    from apps.datasets.imports import create_local_import
    from apps.datasets.models import Dataset
    from apps.slices.services import create_slice
    from apps.training.demo_images import digit_images, write_zip

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "many.zip"
        write_zip(path, (
            image.__class__(f"{image.external_id}-{copy}", image.png, image.annotations)
            for copy in range(scale) for image in digit_images()
        ))  # fmt: skip
        many = Dataset.objects.create(project=project, name="many digits")
        job = create_local_import(dataset=many, format="zip", path=str(path))
        assert run_import(job_id=job.pk).status == "succeeded"
    return create_slice(dataset=many, name="all", query="", actor=None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--scale", type=int, default=10, help="rows of the RSS run, as x digits")
    parser.add_argument("--train-one-epoch", nargs=2, metavar=("TENANT", "SLICE"))
    args = parser.parse_args()
    if args.train_one_epoch:
        _train_one_epoch(args.train_one_epoch[0], int(args.train_one_epoch[1]))
        return

    bench_django()
    from django.core.management import call_command
    from django_tenants.utils import tenant_context

    from apps.datasets.models import Dataset
    from apps.slices.services import create_slice
    from tenants.services import create_tenant
    from workers.engines.classifiers import SmallCNN
    from workers.engines.images import open_image

    tenant = create_tenant(
        slug="trainbench", name="Training bench", domain="trainbench.bench",
        owner_email="o@example.com",
    )  # fmt: skip
    call_command("demo_data", "--tenant", tenant.slug, "--shapes", "1", stdout=io.StringIO())
    with tenant_context(tenant):
        digits = Dataset.objects.get(name="digits")
        all_digits = create_slice(dataset=digits, name="all", query="", actor=None)
        # A first, short run warms up torch (kernels, allocator) for both sides alike.
        platform_run(all_digits.pk, 1)

        from apps.training.models import TrainingRun
        from apps.training.runs import RunContext

        context = RunContext(TrainingRun.objects.order_by("-id").first())
        engine = SmallCNN(hyperparameters=context.hyperparameters, classes=context.classes)
        train = [(open_image(s, "L"), s.target) for _, s in context.train_samples(epoch=0)]
        validation = [(open_image(s, "L"), s.target) for _, s in context.validation_samples()]
        bare = bare_loop(engine, train, validation, args.epochs, 64, 0.001)
        seconds, split, metrics = platform_run(all_digits.pk, args.epochs)

        images = split["train_rows"] * args.epochs
        print(
            f"small CNN on the digits, {args.epochs} epochs, {split['train_rows']} train "
            f"/ {split['validation_rows']} validation rows, batch 64, on the CPU"
        )
        print(
            f"  platform:  {seconds / args.epochs:6.2f} s/epoch  {images / seconds:7.0f} "
            f"images/s  (val_accuracy {metrics['val_accuracy']:.3f})"
        )
        print(f"  bare loop: {bare / args.epochs:6.2f} s/epoch  {images / bare:7.0f} images/s")
        print(f"  platform at {100 * bare / seconds:.0f}% of the bare loop (aim: 85% or more)")

        many_slice = many_digits_slice(digits.project, args.scale)
    small = peak_rss_of_run(tenant.slug, all_digits.pk)
    large = peak_rss_of_run(tenant.slug, many_slice.pk)
    print(
        f"peak RSS of a training process: {small:.0f} MiB at {split['train_rows']} rows, "
        f"{large:.0f} MiB at {args.scale}x ({math.ceil(large / small * 100) - 100:+d}%)"
    )


if __name__ == "__main__":
    main()
