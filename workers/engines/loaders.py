"""Feeding torch: batches of a run's samples, read from Postgres in id chunks in the main
process and decoded by Pillow in DataLoader worker processes. Only the batches in flight
are in memory, never the snapshot's images.

One DataLoader serves a whole fit (persistent workers): its batch sampler is told which
epoch and position to walk next, so workers start once, not once per epoch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

import torch
from django.conf import settings
from torch.utils.data import DataLoader, Dataset

from apps.training.targets import Sample

# A position-tagged sample, as the context yields them.
Tagged = tuple[int, Sample]


class EpochBatches:
    """A batch sampler over whatever `walk()` returns now: lists of tagged samples."""

    def __init__(self, batch_size: int):
        self.batch_size = batch_size
        self._samples: Callable[[], Iterable[Tagged]] = lambda: ()

    def walk(self, samples: Callable[[], Iterable[Tagged]]) -> None:
        self._samples = samples

    def __iter__(self) -> Iterator[list[Tagged]]:
        batch: list[Tagged] = []
        for tagged in self._samples():
            batch.append(tagged)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch


class SampleImages(Dataset):
    """Turns a tagged sample into (position, tensor, target) with the engine's `prepare`."""

    def __init__(self, prepare: Callable[[Sample], tuple[torch.Tensor, object]]):
        self.prepare = prepare

    def __getitem__(self, tagged: Tagged):
        position, sample = tagged
        image, target = self.prepare(sample)
        return position, image, target


def collate(items: list) -> tuple[int, torch.Tensor | list, list]:
    """(position after the batch, images, targets); images stacked when they can be."""
    positions, images, targets = zip(*items, strict=True)
    same = all(image.shape == images[0].shape for image in images)
    return max(positions), (torch.stack(images) if same else list(images)), list(targets)


def make_loader(sampler: EpochBatches, prepare, *, device: str) -> DataLoader:
    workers = settings.TRAINING_LOADER_WORKERS
    return DataLoader(
        SampleImages(prepare),
        batch_sampler=sampler,
        num_workers=workers,
        collate_fn=collate,
        persistent_workers=workers > 0,
        pin_memory=device.startswith("cuda"),
        prefetch_factor=4 if workers > 0 else None,
        # Its worker seeds come from a generator of its own, not the global one, which a
        # checkpoint restores: building a loader leaves the training's random stream alone.
        generator=torch.Generator(),
    )


def shut_down(loader) -> None:
    """Stop a DataLoader's persistent workers now rather than at garbage collection."""
    iterator = getattr(loader, "_iterator", None)
    if iterator is not None:
        with contextlib.suppress(Exception):
            iterator._shutdown_workers()
