from enum import StrEnum


class ProjectErrorCode(StrEnum):
    NAME_TAKEN = "project_name_taken"
