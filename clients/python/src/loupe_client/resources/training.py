"""Training runs: submit one on a slice's snapshot, follow it, cancel it; and the specs a run
may train."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast
from urllib.parse import quote

from loupe_client.pages import list_items
from loupe_client.progress import TrainingProgress
from loupe_client.resources.job_endpoints import JobEndpoints, JobRef, job_id
from loupe_client.shapes import TrainingRun


class TrainingRuns(JobEndpoints[TrainingRun]):
    path, label, progress_class = "training-runs", "training run", TrainingProgress

    def submit(
        self,
        *,
        slice: int,
        spec: str,
        name: str | None = None,
        model: str | None = None,
        hyperparameters: Mapping[str, Any] | None = None,
        snapshot: int | None = None,
        experiment: str | None = None,
        parent_version: int | None = None,
        notify: bool = False,
    ) -> TrainingRun:
        """Queues a run of `spec` on the slice (its snapshot `snapshot`, or one frozen now)
        and answers it, `queued`. A run that succeeds registers a version of `model` (the
        spec's name by default). ValidationError names a bad hyperparameter in `fields`."""
        body: dict[str, Any] = {
            "name": name or f"{spec} on slice {slice}",
            "spec": spec,
            "slice": slice,
            "hyperparameters": dict(hyperparameters or {}),
            "notify": notify,
        }
        optional = {
            "model": model,
            "snapshot": snapshot,
            "experiment": experiment,
            "parent_version": parent_version,
        }
        body |= {k: v for k, v in optional.items() if v is not None}
        return cast(TrainingRun, self._api.call("POST", "training-runs/", json=body))

    def list(
        self, *, status: str | None = None, experiment: str | None = None
    ) -> Iterator[TrainingRun]:
        params = {"status": status, "experiment": experiment}
        return list_items(self._api, "training-runs/", params, item=TrainingRun)

    def cancel(self, run: JobRef) -> TrainingRun:
        """A queued run is cancelled at once; a running one is `cancelling` until its worker
        stops after the current batch. Conflict (`run_finished`) once it has ended."""
        return self._cancel(run)

    def metrics(self, run: JobRef) -> dict[str, Any]:
        """Each metric as a series over the finished epochs: `{"epochs", "series"}`."""
        return cast(dict[str, Any], self._api.call("GET", f"training-runs/{job_id(run)}/metrics/"))

    def compare(self, experiment: str) -> dict[str, Any]:
        """An experiment's runs side by side: their hyperparameters and figures."""
        return cast(
            dict[str, Any], self._api.call("GET", f"experiments/{quote(experiment)}/compare/")
        )

    def specs(self) -> Sequence[dict[str, Any]]:
        """Every model spec a run may train, with its hyperparameters' ranges and defaults."""
        return cast(Sequence[dict[str, Any]], self._api.call("GET", "model-specs/"))
