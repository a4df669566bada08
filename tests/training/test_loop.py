"""The deep training loop on real digit images with a small real context: exact resume from a
mid-epoch checkpoint, and the out-of-memory backoff (the only fake here is the injected
MemoryError)."""

from __future__ import annotations

import pytest
import torch
from django.test import override_settings

from tests.training.memory_context import MemoryContext, store_digits
from workers.engines.backoff import OutOfMemoryAtFloor, next_batch_size
from workers.engines.classifiers import SmallCNN

HYPERPARAMETERS = {"epochs": 2, "batch_size": 32, "learning_rate": 0.002}


@pytest.fixture(scope="module")
def samples() -> list:
    return store_digits(200)


def _context(samples, **overrides) -> MemoryContext:
    fields = {"hyperparameters": HYPERPARAMETERS} | overrides
    return MemoryContext(
        spec="small_cnn", samples=samples[:160], validation=samples[160:], **fields
    )


class DropoutCNN(SmallCNN):
    """The small CNN with dropout: its steps draw random numbers, so a resume that did not
    restore the random state would train other weights."""

    def build_model(self) -> torch.nn.Module:
        return torch.nn.Sequential(*super().build_model(), torch.nn.Dropout(0.3))


def _engine(context) -> SmallCNN:
    return DropoutCNN(hyperparameters=context.hyperparameters, classes=context.classes)


def _weights(engine) -> dict:
    return {k: v.clone() for k, v in engine.model.state_dict().items()}


@pytest.mark.parametrize("loader_workers", [0, 1])
def test_a_run_stopped_mid_epoch_resumes_to_the_weights_of_one_never_stopped(
    samples, loader_workers, settings
):
    settings.TRAINING_LOADER_WORKERS = loader_workers
    whole = _context(samples)
    unbroken = _engine(whole)
    unbroken.fit(whole)

    broken = _context(samples, stop_after_reports=3)  # three batches into the first epoch
    first = _engine(broken)
    assert first.fit(broken).stopped
    assert (broken.resume.epoch, broken.resume.position) == (0, 96)
    resumed = _context(samples, resume=broken.resume)
    resumed.checkpoint = broken.checkpoint
    second = _engine(resumed)
    assert not second.fit(resumed).stopped

    expected, got = _weights(unbroken), _weights(second)
    assert all(torch.equal(expected[name], got[name]) for name in expected)
    assert [m for _, m in resumed.epochs_finished] == [m for _, m in whole.epochs_finished]


def test_batch_sizes_step_down_by_halves_to_one():
    sizes, size = [], 64
    while size is not None:
        sizes.append(size)
        size = next_batch_size(size)
    assert sizes == [64, 32, 16, 8, 4, 2, 1]


class FitsEight(SmallCNN):
    """A model that runs out of memory on batches of more than `limit` images."""

    limit = 8

    def loss(self, model, images, targets, device):
        if len(targets) > self.limit:
            raise MemoryError("injected")
        return super().loss(model, images, targets, device)


@override_settings(TRAINING_LOADER_WORKERS=0)
def test_out_of_memory_halves_the_batch_until_it_fits_and_trains_every_row(samples):
    context = _context(samples, hyperparameters=HYPERPARAMETERS | {"epochs": 1})
    engine = FitsEight(hyperparameters=context.hyperparameters, classes=context.classes)
    result = engine.fit(context)
    assert not result.stopped
    assert context.reductions == [(32, 16), (16, 8)]
    assert (context.resume.epoch, context.resume.batch_size) == (1, 8)


@override_settings(TRAINING_LOADER_WORKERS=0)
def test_out_of_memory_with_a_batch_of_one_fails_saying_so(samples):
    context = _context(samples, hyperparameters=HYPERPARAMETERS | {"batch_size": 4})
    engine = FitsEight(hyperparameters=context.hyperparameters, classes=context.classes)
    engine.limit = 0
    with pytest.raises(OutOfMemoryAtFloor, match="out_of_memory: out of memory with a batch of 1"):
        engine.fit(context)
    assert context.reductions == [(4, 2), (2, 1)]
