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
    RUN_FINISHED = "run_finished"


class RunFailure(StrEnum):
    """The codes a failed run's `error` starts with (`code: message`)."""

    NO_TARGETS = "no_targets"
    TOO_FEW_CLASSES = "too_few_classes"
    MEDIA_UNREADABLE = "media_unreadable"
    OUT_OF_MEMORY = "out_of_memory"
    WORKER_LOST = "worker_lost"
    INTERNAL_ERROR = "internal_error"
