"""Running one inference run on this worker: load the version's model once, then stream the
snapshot's rows through it a chunk at a time, each chunk committed with its progress.

Memory stays flat whatever the snapshot's size: images are decoded at most two batches ahead
of the model, a chunk's predictions are written before the next chunk is read, and the row
ids are read from the snapshot a chunk at a time.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import torch
from django.conf import settings
from PIL import Image

from apps.jobs.lifecycle import hold_job
from apps.predictions import inference_runs
from apps.predictions.errors import InferenceFailure
from apps.predictions.models import INFERENCE_KIND, InferenceRun
from apps.predictions.writer import PredictedObject
from apps.training.errors import MediaUnreadable
from apps.training.specs import Task
from apps.training.targets import Sample
from loupe.storage.files import local_copy
from workers.engines.backoff import OutOfMemoryAtFloor, is_out_of_memory, next_batch_size
from workers.engines.base import Engine, Prediction
from workers.engines.images import open_image
from workers.engines.registry import load_engine
from workers.engines.trainer import pick_device

logger = logging.getLogger(__name__)


def infer_run(*, job_id: int) -> str | None:
    """Run or resume the run; returns its status, or None when another worker holds it.
    Idempotent: a finished run is left as it is."""
    with hold_job(INFERENCE_KIND, job_id) as held:
        if held is None:
            run = InferenceRun.objects.using("default").filter(pk=job_id).first()
            return run.status if run else None
        run = (
            InferenceRun.objects.using("default")
            .select_related("snapshot", "model_version__model")
            .get(pk=job_id)
        )
        started = time.perf_counter()
        try:
            _infer(run)
        except OutOfMemoryAtFloor as exc:
            inference_runs.fail(run, f"{InferenceFailure.OUT_OF_MEMORY}: {exc}")
        except inference_runs.RunTakenOver:
            # Its lease went with a lost connection and another worker carries the run on.
            logger.warning("inference run taken over by another worker", extra={"run": run.pk})
            return None
        except Exception as exc:
            inference_runs.fail(
                run, f"{InferenceFailure.INTERNAL_ERROR}: inference stopped ({type(exc).__name__})"
            )
            raise
        logger.info(
            "inference run ended",
            extra={"run": run.pk, "status": run.status, "seconds": time.perf_counter() - started},
        )
        return run.status


def _infer(run: InferenceRun) -> None:
    device = pick_device()
    version = run.model_version
    try:
        with local_copy(version.artifact) as path:
            engine = load_engine(version.spec, path, device=device)
    except OSError as exc:
        inference_runs.fail(
            run,
            f"{InferenceFailure.ARTIFACT_UNREADABLE}: {version}'s model could not be read "
            f"({type(exc).__name__})",
        )
        return
    inference_runs.start(run, device=device)
    top = settings.INFERENCE_TOP_CLASSES if version.model.task == Task.CLASSIFICATION else None
    predictor = BatchPredictor(engine, run.batch_size, on_reduced=_reporter(run))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="decode") as decoder:
        for start, chunk in inference_runs.chunks(run):
            if inference_runs.stop_requested(run):
                inference_runs.cancel(run)
                return
            rows, skipped = inference_runs.read_chunk(chunk)
            objects = []
            for batch in _batches(decoder, rows, engine_mode(engine), predictor, skipped):
                kept, images = zip(*batch, strict=True)
                objects += [
                    PredictedObject(row_id, p.class_name, p.score, rank, p.bbox)
                    for row_id, found in zip(kept, predictor.predict(images), strict=True)
                    for rank, p in enumerate(found[:top])
                ]
            inference_runs.commit_chunk(
                run,
                start=start,
                row_ids=chunk,
                objects=objects,
                skipped=skipped,
                batch_size=predictor.batch_size,
            )
    inference_runs.complete(run)


def _decode(row: inference_runs.ChunkRow, mode: str) -> Image.Image | MediaUnreadable:
    try:
        return open_image(Sample(row.row_id, row.media_name, ()), mode)
    except MediaUnreadable as exc:
        return exc


def _batches(decoder, rows, mode: str, predictor: BatchPredictor, skipped: list[dict]):
    """The rows' images, a batch of (row id, image) at a time. Pillow decodes them in the
    decoder's thread (it lets go of the GIL) while the model predicts, at most two batches
    ahead of it, so a chunk of large images never sits in memory whole. A row whose image
    cannot be read joins `skipped`."""
    waiting, pending, batch = iter(rows), deque(), []

    def top_up() -> None:
        while len(pending) < 2 * predictor.batch_size:
            row = next(waiting, None)
            if row is None:
                return
            pending.append((row, decoder.submit(_decode, row, mode)))

    top_up()
    while pending:
        row, future = pending.popleft()
        image = future.result()
        top_up()
        if isinstance(image, MediaUnreadable):
            skipped.append({"row": row.row_id, "reason": str(image)})
            continue
        batch.append((row.row_id, image))
        if len(batch) >= predictor.batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def engine_mode(engine: Engine) -> str:
    """The mode images are decoded in for `engine` (it converts again if it must)."""
    return getattr(engine, "mode", "RGB")


def _reporter(run: InferenceRun) -> Callable[[int, int], None]:
    return lambda old, new: inference_runs.batch_size_reduced(run, old=old, new=new)


class BatchPredictor:
    """An engine's `predict` over a chunk of images in batches, the batch halved on out of
    memory (and kept halved for the rest of the run) down to one image."""

    def __init__(self, engine: Engine, batch_size: int, *, on_reduced: Callable[[int, int], None]):
        self.engine, self.batch_size, self.on_reduced = engine, batch_size, on_reduced

    def predict(self, images: Sequence[Image.Image]) -> list[list[Prediction]]:
        results: list[list[Prediction]] = []
        start = 0
        while start < len(images):
            batch = images[start : start + self.batch_size]
            try:
                results += self.engine.predict(batch)
            except Exception as exc:
                if not is_out_of_memory(exc):
                    raise
                self._halve()
                continue
            start += len(batch)
        return results

    def _halve(self) -> None:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # what the failed batch held, back to the allocator
        smaller = next_batch_size(self.batch_size)
        if smaller is None:
            raise OutOfMemoryAtFloor("out of memory predicting one image at a time")
        self.on_reduced(self.batch_size, smaller)
        self.batch_size = smaller
