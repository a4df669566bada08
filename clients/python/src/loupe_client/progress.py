"""Progress bars (tqdm, on standard error) fed by a job's live events: nothing is polled,
the bar moves when the platform says the job did.

- an import counts the records read (`import.progress`: created + updated + unchanged +
  failed); the total is known only at the end, so the bar counts up;
- a training run's bar walks the batches of the epoch under way (`batch.progress`), and each
  finished epoch prints one line of its metrics above the bar, on standard error too
  (`epoch.finished`);
- inference runs and evaluations count rows (`chunk.progress`: `rows_done` of `rows`).
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from tqdm import tqdm  # type: ignore[import-untyped]

from loupe_client.shapes import JobEvent, is_final_event


class JobProgress(ABC):
    """A bar for one job; `show(event)` for each of its events, then `close()`."""

    unit = "it"

    def __init__(self, job: Mapping[str, Any], label: str):
        self.label = label
        self.bar = tqdm(desc=label, unit=self.unit, dynamic_ncols=True)

    def show(self, event: JobEvent) -> None:
        self.advance(event)
        if is_final_event(event):
            self.bar.set_postfix_str(event["type"].rpartition(".")[2], refresh=True)

    @abstractmethod
    def advance(self, event: JobEvent) -> None:
        """Move the bar for what the event says."""

    def close(self) -> None:
        self.bar.close()

    def _move_to(self, done: int, total: int | None = None) -> None:
        if total is not None and self.bar.total != total:
            self.bar.total = total
        self.bar.update(done - self.bar.n)


class ImportProgress(JobProgress):
    unit = " records"

    def advance(self, event: JobEvent) -> None:
        data = event["data"]
        if "created" in data:
            done = sum(int(data.get(k) or 0) for k in ("created", "updated", "unchanged", "failed"))
            self._move_to(done)


class TrainingProgress(JobProgress):
    unit = " batches"

    def __init__(self, job: Mapping[str, Any], label: str):
        super().__init__(job, label)
        self.epochs = job.get("epochs")
        self.epoch: int | None = None

    def advance(self, event: JobEvent) -> None:
        data = event["data"]
        if event["type"] == "batch.progress":
            if data["epoch"] != self.epoch:
                self.epoch = data["epoch"]
                self.bar.reset(total=data["batches"])
                self.bar.set_description_str(f"{self.label} {self._of()}")
            self._move_to(data["batch"], data["batches"])
        elif event["type"] == "epoch.finished":
            line = epoch_line(data["epoch"], self.epochs, data.get("metrics") or {})
            self.bar.write(line, file=sys.stderr)

    def _of(self) -> str:
        return f"epoch {self.epoch}/{self.epochs}" if self.epochs else f"epoch {self.epoch}"


class RowProgress(JobProgress):
    unit = " rows"

    def advance(self, event: JobEvent) -> None:
        data = event["data"]
        if "rows_done" in data:
            self._move_to(int(data["rows_done"]), data.get("rows"))


def epoch_line(epoch: int, epochs: int | None, metrics: Mapping[str, Any]) -> str:
    """`epoch 2/5  train_loss 0.3100  val_accuracy 0.8800  val_loss 0.2700`."""
    figures = "  ".join(f"{name} {_figure(value)}" for name, value in sorted(metrics.items()))
    return f"epoch {epoch}/{epochs}  {figures}" if epochs else f"epoch {epoch}  {figures}"


def _figure(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)
