"""The shapes of the API's answers, as TypedDicts: the SDK hands back the JSON the platform
sent, as plain dicts a script can print or dump, typed for editors and type checkers.
Timestamps stay ISO 8601 strings. Fields the platform adds later simply appear in the dicts.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

JobStatus = Literal[
    "queued", "running", "cancelling", "succeeded", "failed", "cancelled", "partially_failed"
]
FINAL_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled", "partially_failed"})


class Me(TypedDict):
    user: dict[str, Any]
    tenant: dict[str, str]
    role: str
    via: str
    api_key: dict[str, Any] | None


class Project(TypedDict):
    id: int
    name: str
    description: str
    created_by: int | None
    created_at: str
    updated_at: str


class Dataset(TypedDict):
    id: int
    project: int
    name: str
    description: str
    created_at: str
    updated_at: str


class Annotation(TypedDict):
    id: int
    data_row: int
    class_name: str
    geometry_type: str
    geometry: dict[str, Any] | None
    attributes: dict[str, Any]
    source: str
    area: float | None
    created_at: str
    updated_at: str


class DataRow(TypedDict):
    id: int
    dataset: int
    external_id: str
    media_uri: str
    width: int | None
    height: int | None
    metadata: dict[str, Any]
    tags: list[str]
    annotations: list[Annotation]
    created_at: str
    updated_at: str


class RowsPage(TypedDict):
    backend: str
    total: int
    rows: list[DataRow]
    next_cursor: str | None
    index_pending: bool


class ImportJob(TypedDict):
    id: int
    dataset: int
    format: str
    status: JobStatus
    source_uri: str
    total: int
    created: int
    updated: int
    unchanged: int
    failed: int
    errors: list[dict[str, Any]]
    detail: str
    waiting_for: str
    notify: bool
    created_at: str
    started_at: str | None
    finished_at: str | None


class Slice(TypedDict):
    id: int
    dataset: int
    name: str
    query: str
    created_at: str
    updated_at: str


class Snapshot(TypedDict):
    slice: int
    number: int
    query: str
    row_count: int
    created_at: str


class TrainingRun(TypedDict):
    id: int
    name: str
    status: JobStatus
    spec: str
    hyperparameters: dict[str, Any]
    slice: int
    snapshot: int
    model: str
    experiment: str
    parent_version: int | None
    notify: bool
    classes: list[str]
    split: dict[str, Any]
    device: str
    epoch: int
    epochs: int
    batch_size: int
    metrics: dict[str, float]
    error: str
    model_version: int | None
    queue_position: int | None
    waiting_for: str
    attempts: int
    created_at: str
    started_at: str | None
    finished_at: str | None


class Model(TypedDict):
    id: int
    name: str
    task: str
    latest_version: int | None
    versions: int
    created_at: str


class ModelVersion(TypedDict):
    id: int
    model: str
    version: int
    spec: str
    classes: list[str]
    hyperparameters: dict[str, Any]
    metrics: dict[str, Any]
    training_run: int | None
    slice: int | None
    snapshot: int | None
    created_at: str


class InferenceRun(TypedDict):
    id: int
    status: JobStatus
    model: str
    version: int
    model_version: int
    slice: int
    snapshot: int
    rows_total: int | None
    rows_done: int
    rows_skipped: int
    predictions_written: int
    chunk_size: int
    batch_size: int
    device: str
    error: str
    waiting_for: str
    attempts: int
    notify: bool
    created_at: str
    started_at: str | None
    finished_at: str | None


class Evaluation(TypedDict):
    id: int
    status: JobStatus
    model: str
    version: int
    model_version: int
    slice: int
    snapshot: int
    rows_total: int | None
    task: str
    metrics: dict[str, Any]
    error: str
    waiting_for: str
    attempts: int
    notify: bool
    created_at: str
    started_at: str | None
    finished_at: str | None


# `class` is a keyword, so the functional form.
Prediction = TypedDict(
    "Prediction",
    {
        "id": int,
        "model": str,
        "version": int,
        "model_version": int,
        "class": str,
        "score": float | None,
        "rank": int | None,
        "geometry_type": str,
        "geometry": dict[str, Any] | None,
        "area": float | None,
        "source": str,
        "eval": str | None,
        "iou": float | None,
        "matched_annotation": int | None,
    },
)


class OnlinePrediction(TypedDict):
    predictions: list[dict[str, Any]]
    model: str
    version: int
    timing: dict[str, float]


class JobEvent(TypedDict):
    seq: int
    type: str
    kind: str
    job: int
    time: str
    data: dict[str, Any]


class JobSummary(TypedDict):
    kind: str
    id: int
    status: JobStatus
    progress: dict[str, Any]
    error: str
    created_by: dict[str, Any] | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    url: str


def is_final_event(event: JobEvent) -> bool:
    """Whether the event ends its job: `<kind>.succeeded`, `.failed`, `.cancelled`, or an
    import's `.partially_failed`."""
    return event["type"].rpartition(".")[2] in FINAL_STATUSES
