"""The stable codes of prediction files: a refused request's, a failed job's (the first word
of its `detail`), and a refused line's (the first word of its error's message)."""

from enum import StrEnum


class PredictionFileError(StrEnum):
    # An import refused at the door (HTTP 400 or 409): nothing is stored.
    UNKNOWN_DATASET = "unknown_dataset"
    TASK_REQUIRED = "task_required"
    UNKNOWN_VERSION = "unknown_version"
    VERSION_NOT_EXTERNAL = "version_not_external"
    CATEGORIES_REQUIRED = "categories_required"
    INVALID_CATEGORIES = "invalid_categories"
    EMPTY_FILE = "empty_file"
    NOT_JSONL = "not_jsonl"
    # Also a job's failure: a file found broken past its first bytes.
    NOT_COCO_RESULTS = "not_coco_results"
    # A job's failure.
    NO_ROWS_MATCHED = "no_rows_matched"
    INTERNAL_ERROR = "internal_error"
    # A line's error.
    UNKNOWN_ROW = "unknown_row"
    AMBIGUOUS_ROW = "ambiguous_row"
    TOO_MANY_PREDICTIONS = "too_many_predictions"
