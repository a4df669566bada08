"""A small real training context held in memory: the loop's tests run the real engines and
the real loop on real digit images in storage, without a run in the database."""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from dataclasses import dataclass, field

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from apps.training.catalog import get_spec
from apps.training.demo_images import SHAPE_CLASSES, digit_images, shape_images
from apps.training.runs import ResumeState
from apps.training.specs import validate_hyperparameters
from apps.training.targets import Sample, epoch_order


def _store(images, target_of) -> list[Sample]:
    """The demo images as PNGs in storage, as samples of `target_of(annotations)`."""
    prefix = f"loop-tests/{uuid.uuid4().hex}"
    return [
        Sample(
            row_id=i + 1,
            media_name=default_storage.save(f"{prefix}/{i}.png", ContentFile(image.png)),
            target=target_of(image.annotations),
        )
        for i, image in enumerate(images)
    ]


def store_shapes(count: int) -> list[Sample]:
    """The first `count` demo shapes, as samples of their boxes."""
    return _store(
        shape_images(count),
        lambda boxes: tuple(
            (SHAPE_CLASSES.index(box["class"]), *map(float, box["bbox"])) for box in boxes
        ),
    )


def store_digits(count: int) -> list[Sample]:
    """The first `count` demo digits (32x32 scans), as samples of their class."""
    return _store(digit_images(count), lambda labels: int(labels[0]["class"]))


@dataclass
class MemoryContext:
    spec: str
    samples: list[Sample]
    validation: list[Sample]
    hyperparameters: dict
    classes: list[str] = field(default_factory=lambda: [str(d) for d in range(10)])
    device: str = "cpu"
    stop_after_reports: int | None = None
    resume: ResumeState | None = None
    reductions: list[tuple[int, int]] = field(default_factory=list)
    epochs_finished: list[tuple[int, dict]] = field(default_factory=list)
    reports: int = 0
    checkpoint: bytes | None = None

    def __post_init__(self):
        self.hyperparameters = validate_hyperparameters(get_spec(self.spec), self.hyperparameters)
        if self.resume is None:
            self.resume = ResumeState(0, 0, self.hyperparameters.get("batch_size", 0), "")

    @property
    def train_count(self) -> int:
        return len(self.samples)

    def train_samples(self, *, epoch: int, start: int = 0):
        by_id = {s.row_id: s for s in self.samples}
        order = epoch_order(
            np.asarray(sorted(by_id), dtype=np.int64),
            seed=self.hyperparameters["seed"],
            epoch=epoch,
        )
        for position, row_id in enumerate(order[start:], start=start + 1):
            yield position, by_id[int(row_id)]

    def validation_samples(self):
        return enumerate(self.validation, start=1)

    def report_progress(self, *, epoch, batch, batches, loss) -> None:
        self.reports += 1

    def batch_size_reduced(self, *, old: int, new: int) -> None:
        self.reductions.append((old, new))

    def _keep(self, write) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "checkpoint")
            write(path)
            with open(path, "rb") as handle:
                self.checkpoint = handle.read()

    def save_checkpoint(self, write, *, epoch, position, batch_size) -> None:
        self._keep(write)
        self.resume = ResumeState(epoch, position, batch_size, "memory")

    def finish_epoch(self, write, *, epoch, metrics, score, batch_size) -> None:
        self._keep(write)
        self.resume = ResumeState(epoch, 0, batch_size, "memory")
        self.epochs_finished.append((epoch, metrics))

    def should_stop(self) -> bool:
        return self.stop_after_reports is not None and self.reports >= self.stop_after_reports

    @contextlib.contextmanager
    def checkpoint_file(self):
        if self.resume.checkpoint == "":
            yield None
            return
        with tempfile.NamedTemporaryFile() as local:
            local.write(self.checkpoint)
            local.flush()
            yield local.name
