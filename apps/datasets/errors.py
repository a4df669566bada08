from enum import StrEnum


class DatasetErrorCode(StrEnum):
    NAME_TAKEN = "dataset_name_taken"
    UNKNOWN_PROJECT = "unknown_project"
    INVALID_SOURCE = "invalid_source"
    SOURCE_NOT_FOUND = "source_not_found"
    SOURCE_NOT_ALLOWED = "source_not_allowed"
    FILE_REQUIRED = "file_or_source_required"
    UNKNOWN_FORMAT = "unknown_format"
    INVALID_METADATA = "invalid_metadata"


class ImportFailure(StrEnum):
    """Why a whole import job failed: the first word of its `detail` (or a quota's code,
    tenants.quotas.QuotaError, for an import its tenant's quota stopped)."""

    DATABASE_UNAVAILABLE = "database_unavailable"
    INTERNAL_ERROR = "internal_error"
    WORKER_LOST = "worker_lost"
