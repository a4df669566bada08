"""Running one training run on this worker: claim it, fix or read back its targets, train
(resuming from its checkpoint), register the model version, and end it exactly once."""

from __future__ import annotations

import logging
import time

import torch
from django.core.files.storage import default_storage

from apps.jobs.lifecycle import hold_job
from apps.training import lifecycle
from apps.training.errors import MediaUnreadable, RunFailure
from apps.training.models import KIND, TrainingRun
from apps.training.runs import RunContext
from loupe.storage.files import local_copy
from workers.engines.backoff import OutOfMemoryAtFloor
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
        with local_copy(run.parent_version.artifact) as path:
            engine.warm_start(path)
    context.prune_orphans()
    result = engine.fit(context)
    if result.stopped:
        lifecycle.cancel_stopped_run(run)
        return
    artifact = context.store_model(engine.save)
    try:
        lifecycle.complete_run(context, artifact=artifact, metrics=result.metrics)
    except BaseException:
        default_storage.delete(artifact)
        raise
