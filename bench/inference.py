"""Batch inference and evaluation: the small CNN over scikit-learn's digits through the
platform (rows of a snapshot in chunks, images from storage decoded by Pillow, predictions
COPYed with each chunk's progress and events) beside the bare model's predict over the same
images already decoded in memory, in the same run, after a first run has warmed torch up for
both. Then the peak RSS of an inference process at 1x and 10x the rows, and the time an
evaluation takes at 10x the rows.

Run: `make bench` (or `.venv/bin/python bench/inference.py [--scale N]`).
"""

from __future__ import annotations

import argparse
import io
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.setup import bench_django
from bench.training import many_digits_slice, platform_run


def platform_inference(version_id: int, slice_id: int) -> tuple[float, int]:
    """Seconds from the run's start to its end, through the worker's own code; and rows."""
    from apps.jobs.models import JobEvent
    from apps.predictions.models import InferenceRun
    from apps.predictions.services import submit_inference
    from workers.engines.inference import infer_run

    run = submit_inference(model_version=version_id, slice=slice_id, actor=None)
    infer_run(job_id=run.pk)
    run = InferenceRun.objects.using("default").get(pk=run.pk)
    assert run.status == "succeeded", run.error
    times = dict(
        JobEvent.objects.using("default")
        .filter(
            kind="inference_run",
            job_id=run.pk,
            type__in=["inference.started", "inference.succeeded"],
        )
        .values_list("type", "created_at")
    )
    seconds = (times["inference.succeeded"] - times["inference.started"]).total_seconds()
    return seconds, run.rows_done


def bare_predict(engine, images, batch_size: int) -> float:
    """Seconds for the engine's own predict over decoded images, a batch at a time."""
    started = time.perf_counter()
    for start in range(0, len(images), batch_size):
        engine.predict(images[start : start + batch_size])
    return time.perf_counter() - started


def peak_rss_of_inference(tenant_slug: str, version_id: int, slice_id: int) -> float:
    done = subprocess.run(
        [sys.executable, __file__, "--infer", tenant_slug, str(version_id), str(slice_id)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def _infer(tenant_slug: str, version_id: int, slice_id: int) -> None:
    bench_django(recreate=False)
    from django_tenants.utils import tenant_context

    from tenants.models import Tenant

    with tenant_context(Tenant.objects.get(slug=tenant_slug)):
        platform_inference(version_id, slice_id)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=10, help="rows of the 10x runs, as x digits")
    parser.add_argument("--infer", nargs=3, metavar=("TENANT", "VERSION", "SLICE"))
    args = parser.parse_args()
    if args.infer:
        _infer(args.infer[0], int(args.infer[1]), int(args.infer[2]))
        return

    bench_django()
    from django.conf import settings
    from django.core.management import call_command
    from django_tenants.utils import tenant_context

    from apps.datasets.models import DataRow, Dataset
    from apps.predictions.evaluations import run_evaluation
    from apps.predictions.models import Evaluation
    from apps.predictions.services import submit_evaluation
    from apps.slices.services import create_slice
    from apps.training.models import ModelVersion
    from apps.training.runs import local_copy
    from apps.training.targets import Sample
    from tenants.services import create_tenant
    from workers.engines.images import open_image
    from workers.engines.registry import load_engine

    tenant = create_tenant(
        slug="inferbench", name="Inference bench", domain="inferbench.bench",
        owner_email="o@example.com",
    )  # fmt: skip
    call_command("demo_data", "--tenant", tenant.slug, "--shapes", "1", stdout=io.StringIO())
    with tenant_context(tenant):
        digits = Dataset.objects.get(name="digits")
        all_digits = create_slice(dataset=digits, name="all", query="", actor=None)
        platform_run(all_digits.pk, 2)
        version = ModelVersion.objects.get()
        platform_inference(version.pk, all_digits.pk)  # warms torch up for both sides

        with local_copy(version.artifact) as path:
            engine = load_engine(version.spec, path)
        rows = DataRow.objects.filter(dataset=digits).order_by("id")
        images = [open_image(Sample(r.id, r.media_uri, ()), "L") for r in rows]
        bare = bare_predict(engine, images, settings.INFERENCE_BATCH_SIZE)
        seconds, count = platform_inference(version.pk, all_digits.pk)
        print(
            f"small CNN inference over the digits, {count} rows, chunks of "
            f"{settings.INFERENCE_CHUNK_ROWS}, batches of {settings.INFERENCE_BATCH_SIZE}, "
            "on the CPU"
        )
        print(f"  platform:      {count / seconds:8.0f} rows/s  ({seconds:.2f} s)")
        print(f"  bare predict:  {len(images) / bare:8.0f} rows/s  ({bare:.2f} s)")
        print(f"  platform at {100 * bare / seconds:.0f}% of the bare predict (aim: 80% or more)")

        many_slice = many_digits_slice(digits.project, args.scale)
    small = peak_rss_of_inference(tenant.slug, version.pk, all_digits.pk)
    large = peak_rss_of_inference(tenant.slug, version.pk, many_slice.pk)
    print(
        f"peak RSS of an inference process: {small:.0f} MiB at {count} rows, "
        f"{large:.0f} MiB at {args.scale}x ({math.ceil(large / small * 100) - 100:+d}%)"
    )
    with tenant_context(tenant):
        settings.EVALUATION_INLINE_ROWS = 0  # queued, then run here and timed alone
        evaluation = submit_evaluation(
            model_version=version.pk, slice=many_slice.pk, snapshot=1, actor=None
        )
        started = time.perf_counter()
        run_evaluation(evaluation.pk)
        seconds = time.perf_counter() - started
        evaluation = Evaluation.objects.get(pk=evaluation.pk)
        rows = evaluation.metrics["rows_evaluated"]
        print(
            f"evaluation of {rows} rows: {seconds:.2f} s ({10_000 * seconds / rows:.2f} s per "
            f"10,000 rows, accuracy {evaluation.metrics['accuracy']:.3f})"
        )


if __name__ == "__main__":
    main()
