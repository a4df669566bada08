"""The deep training loop: a plain function over an engine's model, the context's batches and
an optimizer. Progress, checkpoints and cancel checks are calls on the context, made between
steps; the math never prints or writes.

Resume is exact: a checkpoint holds the model, optimizer, scheduler and AMP scaler states,
the RNG states, the epoch, the position inside it (in the epoch's fixed order) and the batch
size in use, so a resumed run walks the same rows in the same order from where it stopped.
Out of memory halves the batch and retries from the same position (the failed step applied
nothing), reports `batch_size.reduced`, and fails at a batch of one.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
from django.conf import settings

from apps.training.errors import RunFailure
from workers.engines.backoff import OutOfMemoryAtFloor, is_out_of_memory, next_batch_size
from workers.engines.base import FitResult, TrainingContext
from workers.engines.loaders import EpochBatches, make_loader, shut_down


@dataclass
class Progress:
    epoch: int  # epochs finished
    position: int  # samples done in the current epoch
    batch_size: int
    loss_sum: float = 0.0
    loss_count: int = 0

    def as_dict(self) -> dict:
        return dict(vars(self))


@dataclass
class Training:
    """What the loop moves forward: built once per fit, restored from a checkpoint."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler | None
    scaler: torch.amp.GradScaler
    device: torch.device

    def state(self, progress: Progress) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "scaler": self.scaler.state_dict(),
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            },
            "progress": progress.as_dict(),
        }

    def restore(self, path: str) -> Progress:
        state = torch.load(path, map_location=self.device, weights_only=True)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler and state["scheduler"]:
            self.scheduler.load_state_dict(state["scheduler"])
        # A run checkpointed on the CPU (no scaler) may resume on a GPU, and back.
        if self.scaler.is_enabled() and state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"]["torch"].cpu())
        if state["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in state["rng"]["cuda"]])
        return Progress(**state["progress"])

    def writer(self, progress: Progress):
        return lambda path: torch.save(self.state(progress), path)


def build_training(engine, context: TrainingContext) -> Training:
    hp = context.hyperparameters
    device = torch.device(context.device)
    model = engine.model.to(device)
    parameters = [p for p in model.parameters() if p.requires_grad]
    if hp["optimizer"] == "sgd":
        optimizer = torch.optim.SGD(
            parameters, lr=hp["learning_rate"], momentum=0.9, weight_decay=hp["weight_decay"]
        )
    else:
        optimizer = torch.optim.Adam(
            parameters, lr=hp["learning_rate"], weight_decay=hp["weight_decay"]
        )
    scheduler = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=hp["epochs"])
        if hp["scheduler"] == "cosine"
        else None
    )
    scaler = torch.amp.GradScaler(device.type, enabled=device.type == "cuda")
    return Training(model, optimizer, scheduler, scaler, device)


class Loaders:
    """The fit's two DataLoaders, their workers kept across epochs; the training one is
    rebuilt when the batch size changes."""

    def __init__(self, engine, device: torch.device, batch_size: int):
        self.engine, self.device = engine, str(device)
        self.validation_sampler = EpochBatches(batch_size)
        self.validation = make_loader(
            self.validation_sampler, engine.prepare_eval, device=self.device
        )
        self.train = None
        self.resize(batch_size)

    def resize(self, batch_size: int) -> None:
        shut_down(self.train)
        self.sampler = EpochBatches(batch_size)
        self.train = make_loader(self.sampler, self.engine.prepare_train, device=self.device)
        self.validation_sampler.batch_size = batch_size

    def close(self) -> None:
        shut_down(self.train)
        shut_down(self.validation)


def fit(engine, context: TrainingContext) -> FitResult:
    """Train `engine.model` for the run's epochs, from its checkpoint when it has one."""
    torch.manual_seed(context.hyperparameters["seed"])
    training = build_training(engine, context)
    resume = context.resume
    progress = Progress(resume.epoch, resume.position, resume.batch_size)
    with context.checkpoint_file() as path:
        if path:
            restored = training.restore(path)
            # The run row is the truth for where to go on; the sums belong to its epoch.
            if (restored.epoch, restored.position) == (progress.epoch, progress.position):
                progress.loss_sum, progress.loss_count = restored.loss_sum, restored.loss_count
    loaders = Loaders(engine, training.device, progress.batch_size)
    try:
        return _epochs(engine, context, training, progress, loaders)
    finally:
        loaders.close()


def _epochs(engine, context, training: Training, progress: Progress, loaders: Loaders):
    metrics: dict = {}
    while progress.epoch < context.hyperparameters["epochs"]:
        if _train_epoch(engine, context, training, progress, loaders) == "stopped":
            return FitResult(metrics=metrics, stopped=True)
        if training.scheduler:
            training.scheduler.step()
        metrics = {"train_loss": progress.loss_sum / max(progress.loss_count, 1)}
        metrics = _rounded(metrics | _validate(engine, context, training, progress, loaders))
        progress.epoch, progress.position = progress.epoch + 1, 0
        progress.loss_sum, progress.loss_count = 0.0, 0
        context.finish_epoch(
            training.writer(progress),
            epoch=progress.epoch,
            metrics=metrics,
            score=engine.score(metrics),
            batch_size=progress.batch_size,
        )
        more = progress.epoch < context.hyperparameters["epochs"]
        if more and context.should_stop():  # a finished run is kept, not cancelled
            return FitResult(metrics=metrics, stopped=True)
    return FitResult(metrics=metrics)


def _rounded(metrics: dict) -> dict:
    return {name: round(float(value), 6) for name, value in metrics.items()}


def _train_epoch(engine, context, training: Training, progress: Progress, loaders) -> str:
    """Walk the rest of the epoch, halving the batch on out of memory; "done" or "stopped"."""
    while True:
        try:
            return _walk(engine, context, training, progress, loaders)
        except Exception as exc:
            _back_off(exc, context, training, progress, loaders)


def _validate(engine, context, training: Training, progress: Progress, loaders) -> dict:
    """The epoch's validation metrics, halving the batch on out of memory as training does."""
    while True:
        loaders.validation_sampler.walk(context.validation_samples)
        try:
            return engine.validate(training.model, loaders.validation, training.device)
        except Exception as exc:
            _back_off(exc, context, training, progress, loaders)


def _back_off(exc: Exception, context, training: Training, progress: Progress, loaders) -> None:
    """Re-raise anything but out of memory; else halve the batch (both loaders' batches), or
    fail at a batch of one."""
    if not is_out_of_memory(exc):
        raise exc
    smaller = next_batch_size(progress.batch_size)
    _free_memory(training)
    if smaller is None:
        raise OutOfMemoryAtFloor(
            f"{RunFailure.OUT_OF_MEMORY}: out of memory with a batch of 1 "
            f"(epoch {progress.epoch + 1}, sample {progress.position})"
        ) from exc
    context.batch_size_reduced(old=progress.batch_size, new=smaller)
    progress.batch_size = smaller
    loaders.resize(smaller)


def _walk(engine, context, training, progress: Progress, loaders: Loaders) -> str:
    epoch, start = progress.epoch, progress.position
    loaders.sampler.walk(lambda: context.train_samples(epoch=epoch, start=start))
    batches = max(1, math.ceil(context.train_count / progress.batch_size))
    checkpointed = time.monotonic()
    training.model.train()
    for position, images, targets in loaders.train:
        loss = _step(engine, training, images, targets)
        progress.position = position
        progress.loss_sum += loss * len(targets)
        progress.loss_count += len(targets)
        batch = min(batches, math.ceil(position / progress.batch_size))
        context.report_progress(epoch=epoch + 1, batch=batch, batches=batches, loss=loss)
        stopping = context.should_stop()
        if stopping or time.monotonic() - checkpointed >= settings.TRAINING_CHECKPOINT_SECONDS:
            context.save_checkpoint(
                training.writer(progress),
                epoch=epoch,
                position=position,
                batch_size=progress.batch_size,
            )
            checkpointed = time.monotonic()
        if stopping:
            return "stopped"
    return "done"


def _step(engine, training: Training, images, targets) -> float:
    device = training.device
    training.optimizer.zero_grad(set_to_none=True)
    with torch.autocast(device_type=device.type, enabled=device.type == "cuda"):
        loss = engine.loss(training.model, engine.to_device(images, device), targets, device)
    training.scaler.scale(loss).backward()
    training.scaler.step(training.optimizer)
    training.scaler.update()
    return float(loss.detach())


def _free_memory(training: Training) -> None:
    training.optimizer.zero_grad(set_to_none=True)
    if training.device.type == "cuda":
        torch.cuda.empty_cache()
