"""Inference runs (a version predicting on a snapshot's rows, stored as a searchable layer)
and evaluations (its predictions judged against the annotations)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from loupe_client.pages import list_items
from loupe_client.progress import RowProgress
from loupe_client.resources.job_endpoints import JobEndpoints, JobRef
from loupe_client.shapes import Evaluation, InferenceRun


def _over(model_version: int, slice: int, snapshot: int | None, notify: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model_version": model_version, "slice": slice, "notify": notify}
    if snapshot is not None:
        body["snapshot"] = snapshot
    return body


class InferenceRuns(JobEndpoints[InferenceRun]):
    path, label, progress_class = "inference-runs", "inference run", RowProgress

    def submit(
        self, *, model_version: int, slice: int, snapshot: int | None = None, notify: bool = False
    ) -> InferenceRun:
        """Queues the version's predictions over the slice's snapshot (or one frozen now).
        Running a version again over the same rows replaces its predictions there."""
        body = _over(model_version, slice, snapshot, notify)
        return cast(InferenceRun, self._api.call("POST", "inference-runs/", json=body))

    def list(
        self, *, status: str | None = None, model_version: int | None = None
    ) -> Iterator[InferenceRun]:
        params = {"status": status, "model_version": model_version}
        return list_items(self._api, "inference-runs/", params, item=InferenceRun)

    def cancel(self, run: JobRef) -> InferenceRun:
        """Conflict (`job_finished`) once it has ended."""
        return self._cancel(run)


class Evaluations(JobEndpoints[Evaluation]):
    path, label, progress_class = "evaluations", "evaluation", RowProgress

    def create(
        self, *, model_version: int, slice: int, snapshot: int | None = None, notify: bool = False
    ) -> Evaluation:
        """Judges the version's stored predictions on the snapshot's rows. A small snapshot
        is evaluated at once (the answer holds its `metrics`); a large one is a job,
        `queued`: `wait(evaluation)` answers it finished either way."""
        body = _over(model_version, slice, snapshot, notify)
        return cast(Evaluation, self._api.call("POST", "evaluations/", json=body))

    def list(
        self, *, status: str | None = None, model_version: int | None = None
    ) -> Iterator[Evaluation]:
        params = {"status": status, "model_version": model_version}
        return list_items(self._api, "evaluations/", params, item=Evaluation)
