from enum import StrEnum


class SliceErrorCode(StrEnum):
    UNKNOWN_DATASET = "unknown_dataset"
    INVALID_CURSOR = "invalid_cursor"
    SEARCH_UNAVAILABLE = "search_unavailable"
    NAME_TAKEN = "slice_name_taken"
    FIELD_NOT_FACETABLE = "field_not_facetable"
