"""What a training engine sees of its run: the context a worker hands the training loop.

The loop calls it to report progress, finish epochs, save checkpoints and ask whether to
stop; it turns those into stored events, metric rows and checkpoint files under the tenant's
prefix, so the loop itself never touches the database and runs in tests with a real context.
Everything an epoch's end writes (its metric row, the checkpoint pointer, its events) commits
in one transaction: a worker lost on the way re-runs that epoch's tail, never records it twice.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from apps.jobs.events import append_event
from apps.jobs.models import JobStatus
from apps.slices import row_ids
from apps.training.catalog import get_spec
from apps.training.models import KIND, EpochMetric, TrainingRun
from apps.training.specs import Task
from apps.training.targets import Sample, epoch_order, iter_samples
from loupe.storage.files import local_copy
from tenants.activation import active_schema

logger = logging.getLogger(__name__)

PROGRESS_INTERVAL_SECONDS = 0.2  # at most 5 progress events a second
STOP_CHECK_INTERVAL_SECONDS = 0.2

# The run's fields that name files in storage.
_FILE_FIELDS = ("checkpoint", "best_checkpoint")
# Writes a checkpoint or model to the local path it is given.
Writer = Callable[[str], None]


@dataclass(frozen=True)
class ResumeState:
    epoch: int  # epochs finished
    position: int  # samples done in the next one
    batch_size: int
    checkpoint: str  # storage name, "" for a fresh start


class RunContext:
    """The running `run`'s data and reporting, for its engine."""

    def __init__(self, run: TrainingRun):
        self.run = run
        self.spec = get_spec(run.spec)
        self.task = Task(self.spec.task)
        self.hyperparameters = run.hyperparameters
        self.classes: list[str] = run.classes
        self.class_index = {name: i for i, name in enumerate(self.classes)}
        self.train_ids = np.asarray(row_ids.decode(run.train_row_ids), dtype=np.int64)
        self.validation_ids = np.asarray(row_ids.decode(run.validation_row_ids), dtype=np.int64)
        self.device = run.device
        self._last_progress = 0.0
        self._last_stop_check = 0.0
        self._stopping = False

    # --- data -------------------------------------------------------------------------

    @property
    def resume(self) -> ResumeState:
        run = self.run
        return ResumeState(
            epoch=run.epoch,
            position=run.position,
            batch_size=run.batch_size or self.hyperparameters.get("batch_size", 0),
            checkpoint=run.checkpoint,
        )

    def train_samples(self, *, epoch: int, start: int = 0) -> Iterator[tuple[int, Sample]]:
        """Epoch `epoch`'s training samples (0-based), in its fixed order, from `start`,
        each after its position in the epoch (where to resume after it)."""
        order = epoch_order(self.train_ids, seed=self.hyperparameters["seed"], epoch=epoch)
        samples = iter_samples(task=self.task, row_ids=order[start:], class_index=self.class_index)
        return ((start + offset, sample) for offset, sample in samples)

    def validation_samples(self) -> Iterator[tuple[int, Sample]]:
        return iter_samples(
            task=self.task, row_ids=self.validation_ids, class_index=self.class_index
        )

    @property
    def train_count(self) -> int:
        return len(self.train_ids)

    # --- reporting --------------------------------------------------------------------

    def report_progress(self, *, epoch: int, batch: int, batches: int, loss: float | None) -> None:
        """A `batch.progress` event, unless one was sent less than 0.2 s ago (the epoch's
        last batch always sends one)."""
        now = time.monotonic()
        if now - self._last_progress < PROGRESS_INTERVAL_SECONDS and batch < batches:
            return
        self._last_progress = now
        self._event(
            "batch.progress",
            {
                "epoch": epoch,
                "batch": batch,
                "batches": batches,
                "loss": None if loss is None else round(loss, 6),
            },
        )

    def batch_size_reduced(self, *, old: int, new: int) -> None:
        with transaction.atomic(using="default"):
            self.run.batch_size = new
            self.run.save(update_fields=["batch_size"])
            self._event("batch_size.reduced", {"from": old, "to": new})

    def save_checkpoint(self, write: Writer, *, epoch: int, position: int, batch_size: int) -> None:
        """Mid-epoch: the state to resume from `position` samples into epoch `epoch`."""
        name = self._store(write, "checkpoint")
        with self._replacing([name]), transaction.atomic(using="default"):
            run = self.run
            run.checkpoint, run.epoch, run.position = name, epoch, position
            run.batch_size = batch_size
            run.save(update_fields=["checkpoint", "epoch", "position", "batch_size"])
            self._event("checkpoint.saved", {"epoch": epoch + 1, "position": position})

    def finish_epoch(
        self, write: Writer, *, epoch: int, metrics: dict, score: float, batch_size: int
    ) -> None:
        """Epoch `epoch` (1-based, now finished): its metrics row, its checkpoint (the best
        too, when `score` beats every earlier epoch's) and its events, in one commit."""
        name = self._store(write, "checkpoint")
        best = self.run.best_score is None or score > self.run.best_score
        best_name = self._copy(name) if best else ""
        fields = ["checkpoint", "epoch", "position", "batch_size", "metrics"]
        with self._replacing([name, best_name]), transaction.atomic(using="default"):
            run = self.run
            run.checkpoint, run.epoch, run.position = name, epoch, 0
            run.batch_size, run.metrics = batch_size, metrics
            if best:
                run.best_checkpoint, run.best_score = best_name, score
                fields += ["best_checkpoint", "best_score"]
            run.save(update_fields=fields)
            EpochMetric.objects.using("default").update_or_create(
                run=run, epoch=epoch, defaults={"metrics": metrics}
            )
            self._event("epoch.finished", {"epoch": epoch, "metrics": metrics})
            self._event("checkpoint.saved", {"epoch": epoch, "best": best})

    def should_stop(self) -> bool:
        """Whether the run is being cancelled (the database is asked at most every 0.2 s)."""
        now = time.monotonic()
        if not self._stopping and now - self._last_stop_check >= STOP_CHECK_INTERVAL_SECONDS:
            self._last_stop_check = now
            status = (
                TrainingRun.objects.using("default")
                .filter(pk=self.run.pk)
                .values_list("status", flat=True)
                .first()
            )
            self._stopping = status == JobStatus.CANCELLING
        return self._stopping

    @contextlib.contextmanager
    def checkpoint_file(self) -> Iterator[str | None]:
        """The last checkpoint, as a local file, or None on a fresh start."""
        if not self.run.checkpoint:
            yield None
            return
        with local_copy(self.run.checkpoint) as path:
            yield path

    def store_model(self, write: Writer) -> str:
        return self._store(write, "model")

    # --- storage ----------------------------------------------------------------------

    def _prefix(self) -> str:
        return f"{active_schema()}/training-runs/{self.run.pk}"

    def _store(self, write: Writer, what: str) -> str:
        """Write to a temporary file, then into storage under a fresh name: a file that
        becomes the run's checkpoint is complete before anything points at it."""
        with tempfile.TemporaryDirectory() as folder:
            path = f"{folder}/{what}"
            write(path)
            with open(path, "rb") as handle:
                name = f"{self._prefix()}/{what}s/{uuid.uuid4().hex}.pt"
                return default_storage.save(name, File(handle))

    def _copy(self, name: str) -> str:
        with local_copy(name) as path, open(path, "rb") as handle:
            return default_storage.save(f"{self._prefix()}/best/{uuid.uuid4().hex}.pt", handle)

    @contextlib.contextmanager
    def _replacing(self, new: list[str]) -> Iterator[None]:
        """The block points the run at the `new` files. Once it has committed, the files the
        run pointed at before are deleted; if it fails, the new ones are, and the run's
        pointers go back."""
        before = {field: getattr(self.run, field) for field in _FILE_FIELDS}
        try:
            yield
        except BaseException:
            for field, name in before.items():
                setattr(self.run, field, name)
            self._delete(set(new))
            raise
        self._delete(set(before.values()) - self._referenced())

    def _referenced(self) -> set[str]:
        return {getattr(self.run, field) for field in _FILE_FIELDS} - {""}

    def _delete(self, names: set[str]) -> None:
        for name in names - {""}:
            with contextlib.suppress(OSError):
                default_storage.delete(name)

    def prune_orphans(self) -> None:
        """Delete the run's checkpoint files nothing points at: those a worker lost between
        writing a file and committing it left behind."""
        for folder in ("checkpoints", "best"):
            path = f"{self._prefix()}/{folder}"
            with contextlib.suppress(FileNotFoundError, NotImplementedError):
                _, files = default_storage.listdir(path)
                self._delete({f"{path}/{name}" for name in files} - self._referenced())

    def _event(self, event_type: str, data: dict) -> None:
        append_event(self.run, KIND, event_type, data)
