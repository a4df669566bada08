"""Running one training run on this worker: claim it, fix or read back its targets, train
(resuming from its checkpoint), register the model version, and end it exactly once."""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time

import torch
from django.core.files.storage import default_storage

from apps.jobs.lifecycle import hold_job
from apps.training import lifecycle
from apps.training.errors import RunFailure
from apps.training.models import KIND, TrainingRun
from apps.training.runs import RunContext
from workers.engines.backoff import OutOfMemoryAtFloor
from workers.engines.images import MediaUnreadable
from workers.engines.registry import engine_for

logger = logging.getLogger(__name__)


def pick_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def train_run(*, job_id: int) -> str | None:
    """Run or resume the run; returns its status, or None when another worker holds it.
    Idempotent: a finished run is left as it is."""
    with hold_job(KIND, job_id) as held:
        if held is None:
            run = TrainingRun.objects.using("default").filter(pk=job_id).first()
            return run.status if run else None
        run = (
            TrainingRun.objects.using("default")
            .select_related("snapshot", "parent_version")
            .get(pk=job_id)
        )
        started = time.perf_counter()
        try:
            context = lifecycle.start_run(run, device=pick_device())
            _train(context)
        except (lifecycle.RunCannotStart, MediaUnreadable, OutOfMemoryAtFloor) as exc:
            lifecycle.fail_run(run, str(exc))
        except Exception as exc:
            lifecycle.fail_run(
                run,
                f"{RunFailure.INTERNAL_ERROR}: training stopped ({type(exc).__name__})",
            )
            raise
        logger.info(
            "training run ended",
            extra={
                "run": run.pk,
                "status": run.status,
                "seconds": round(time.perf_counter() - started, 2),
            },
        )
        return run.status


def _train(context: RunContext) -> None:
    run = context.run
    engine = engine_for(run.spec)(hyperparameters=run.hyperparameters, classes=run.classes)
    if run.parent_version is not None and not run.checkpoint:
        with _local(run.parent_version.artifact) as path:
            engine.warm_start(path)
    result = engine.fit(context)
    if result.stopped:
        lifecycle.cancel_stopped_run(run)
        return
    artifact = context.store_model(engine.save)
    lifecycle.complete_run(context, artifact=artifact, metrics=result.metrics)


@contextlib.contextmanager
def _local(name: str):
    with tempfile.NamedTemporaryFile() as local:
        with default_storage.open(name, "rb") as stored:
            for chunk in iter(lambda: stored.read(1 << 20), b""):
                local.write(chunk)
        local.flush()
        yield local.name
