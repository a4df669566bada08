"""The one interface every trainable model implements, classical and deep alike.

Engines keep scikit-learn's contract: the constructor only stores the hyperparameters and the
class list; `fit` sets the learned state (from the context's rows, reporting through it);
`predict` has no side effects; `save` and `load` round-trip the learned state. The spec they
implement (task, family, hyperparameter ranges) is data in apps/training/catalog.py.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

from PIL import Image

from apps.training.runs import ResumeState, Writer
from apps.training.targets import Sample


@dataclass(frozen=True)
class Prediction:
    class_name: str
    score: float
    bbox: tuple[float, float, float, float] | None = None  # x, y, w, h in the image's pixels


@dataclass(frozen=True)
class FitResult:
    metrics: dict
    stopped: bool = False  # cancelled between batches, its checkpoint kept


class TrainingContext(Protocol):
    """What an engine's `fit` is handed (apps/training/runs.py RunContext is the real one)."""

    hyperparameters: dict
    classes: list[str]
    device: str
    train_count: int

    @property
    def resume(self) -> ResumeState: ...
    def train_samples(self, *, epoch: int, start: int = 0) -> Iterable[tuple[int, Sample]]: ...
    def validation_samples(self) -> Iterable[tuple[int, Sample]]: ...
    def report_progress(
        self, *, epoch: int, batch: int, batches: int, loss: float | None
    ) -> None: ...
    def batch_size_reduced(self, *, old: int, new: int) -> None: ...
    def save_checkpoint(
        self, write: Writer, *, epoch: int, position: int, batch_size: int
    ) -> None: ...
    def finish_epoch(
        self, write: Writer, *, epoch: int, metrics: dict, score: float, batch_size: int
    ) -> None: ...
    def should_stop(self) -> bool: ...
    def checkpoint_file(self): ...


class Engine(ABC):
    spec_name: ClassVar[str]

    def __init__(self, *, hyperparameters: dict, classes: Sequence[str]):
        self.hyperparameters = dict(hyperparameters)
        self.classes = list(classes)

    @abstractmethod
    def fit(self, context: TrainingContext) -> FitResult:
        """Learn from the context's rows, resuming from its checkpoint when it has one."""

    @abstractmethod
    def evaluate(self, samples: Iterable[tuple[int, Sample]]) -> dict:
        """Metrics of the learned model on these samples (`val_*` names)."""

    @abstractmethod
    def predict(self, images: Sequence[Image.Image]) -> list[list[Prediction]]:
        """The predictions for each image, best first."""

    @abstractmethod
    def save(self, path: str) -> None:
        """Write the learned state (and what `load` needs) to `path`."""

    @classmethod
    @abstractmethod
    def load(cls, path: str) -> Engine:
        """The engine `save` wrote, ready to predict."""

    def warm_start(self, path: str) -> None:
        """Start `fit` from the weights of a saved version of the same spec."""
        raise NotImplementedError(f"{self.spec_name} does not fine-tune from a parent version")
