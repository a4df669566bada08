from __future__ import annotations

from enum import StrEnum


class PredictionErrorCode(StrEnum):
    UNKNOWN_MODEL_VERSION = "unknown_model_version"
    NOT_RUNNABLE = "version_not_runnable"
    EMPTY_SNAPSHOT = "empty_snapshot"
    JOB_FINISHED = "job_finished"
    UNKNOWN_MODEL = "unknown_model"


class InferenceFailure(StrEnum):
    """The codes a failed inference run's `error` starts with (`code: message`)."""

    ARTIFACT_UNREADABLE = "artifact_unreadable"
    OUT_OF_MEMORY = "out_of_memory"
    WORKER_LOST = "worker_lost"
    INTERNAL_ERROR = "internal_error"
