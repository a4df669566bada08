"""The errors a query can raise: a stable code for clients to match on, a message for the
person who wrote the query, and where in the query text the problem starts."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class QueryErrorCode(StrEnum):
    QUERY_SYNTAX = "query_syntax"  # the text does not follow the grammar
    UNKNOWN_FIELD = "unknown_field"  # no such field, or not in this scope
    TYPE_MISMATCH = "type_mismatch"  # operator or literal does not fit the field
    INVALID_VALUE = "invalid_value"  # a literal of the right type that cannot be used
    QUERY_TOO_COMPLEX = "query_too_complex"  # too long, too deep, too many values


class Located(Protocol):
    """Anything with a 1-based position in the query text: a lark Token or a tree's Meta."""

    line: int
    column: int


class QueryError(Exception):
    """A query that cannot run. `line` and `column` are 1-based and point at the first
    character of the offending token; `message` says what to write instead."""

    def __init__(self, code: QueryErrorCode, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line
        self.column = column

    @classmethod
    def at(cls, where: Located, code: QueryErrorCode, message: str) -> QueryError:
        return cls(code, message, where.line, where.column)

    def __str__(self) -> str:
        return f"{self.message} (line {self.line}, column {self.column})"

    def __repr__(self) -> str:
        return (
            f"QueryError({self.code.value!r}, {self.message!r}, "
            f"line={self.line}, column={self.column})"
        )

    def as_dict(self) -> dict[str, str | int]:
        """The error as an API body renders it."""
        return {
            "code": self.code.value,
            "message": self.message,
            "line": self.line,
            "column": self.column,
        }
