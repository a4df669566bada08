from __future__ import annotations

from enum import StrEnum


class TrainingErrorCode(StrEnum):
    UNKNOWN_SPEC = "unknown_spec"
    INVALID_HYPERPARAMETERS = "invalid_hyperparameters"
    UNKNOWN_SLICE = "unknown_slice"
    UNKNOWN_SNAPSHOT = "unknown_snapshot"
    EMPTY_SNAPSHOT = "empty_snapshot"
    UNKNOWN_PARENT_VERSION = "unknown_parent_version"
    PARENT_SPEC_MISMATCH = "parent_spec_mismatch"
    PARENT_NOT_SUPPORTED = "parent_not_supported"
    INVALID_MODEL_NAME = "invalid_model_name"
    MODEL_TASK_MISMATCH = "model_task_mismatch"
    RUN_FINISHED = "run_finished"
    TRAINING_RUN_LIMIT = "training_run_limit"
    EXPERIMENT_SNAPSHOT_MISMATCH = "experiment_snapshot_mismatch"
    UNKNOWN_EXPERIMENT = "unknown_experiment"


class RunFailure(StrEnum):
    """The codes a failed run's `error` starts with (`code: message`)."""

    NO_TARGETS = "no_targets"
    TOO_FEW_CLASSES = "too_few_classes"
    MEDIA_UNREADABLE = "media_unreadable"
    OUT_OF_MEMORY = "out_of_memory"
    WORKER_LOST = "worker_lost"
    INTERNAL_ERROR = "internal_error"


class MediaUnreadable(Exception):
    """A row's image could not be read (or is not the tenant's): the run fails saying which
    row and why. Built from its message alone, so torch can carry it out of a DataLoader
    worker as itself."""

    def __init__(self, message: str):
        # torch raises a DataLoader worker's exception again with the worker's traceback for
        # its message; the traceback's last line ends with the message the worker gave.
        last = message.rstrip().splitlines()[-1] if message.strip() else ""
        _, found, original = last.partition(f"{type(self).__name__}: ")
        super().__init__(original if found and "Traceback" in message else message)

    @classmethod
    def of(cls, row_id: int, media_name: str, reason: str) -> MediaUnreadable:
        return cls(
            f"{RunFailure.MEDIA_UNREADABLE}: row {row_id}'s image {media_name!r} could not be "
            f"read ({reason})"
        )
