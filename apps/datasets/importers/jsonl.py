"""JSON Lines: one row per line, each a JSON object in the shape `validation.row_from_object`
checks (external_id, media_uri, width, height, metadata, tags, annotations)."""

from __future__ import annotations

import codecs
import json
import os
from collections.abc import Iterator
from typing import BinaryIO

import orjson

from apps.datasets.importers.records import ParsedRow, RowError
from apps.datasets.importers.validation import (
    InvalidField,
    finite_float,
    reject_json_constant,
    row_from_object,
)

MAX_LINE_BYTES = 1024 * 1024
_SKIP_CHUNK_BYTES = 64 * 1024


class JsonlImporter:
    """Reads a JSON Lines file of rows.

    Yields, in file order, one `ParsedRow` or one `RowError` per non-blank line, numbered from
    1; blank lines are skipped. Holds one line at a time: a line past `MAX_LINE_BYTES` is
    reported and skipped in bounded chunks, never read whole. Never raises `FileRejected`:
    a JSONL file has no part whose failure spoils the others.

    Finding the records (`iter_unread`) costs little beside reading them (`read`), so an
    import's staging processes each find every record and read only their own batches'.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = path

    def iter_records(self) -> Iterator[ParsedRow | RowError]:
        with open(self._path, "rb") as stream:
            yield from iter_jsonl_rows(stream)

    def iter_unread(self) -> Iterator[Unread]:
        """Each record's line, unread: its number and bytes (None for a line too long)."""
        with open(self._path, "rb") as stream:
            yield from _record_lines(stream)

    @staticmethod
    def read(unread: Unread) -> ParsedRow | RowError:
        return read_record(unread)


Unread = tuple[int, bytes | None]


def iter_jsonl_rows(
    stream: BinaryIO, *, media_uri_required: bool = True
) -> Iterator[ParsedRow | RowError]:
    """The rows of a binary stream of JSON Lines (a file, or a ZIP's manifest, whose lines
    may leave media_uri out: `row_from_object`)."""
    for unread in _record_lines(stream):
        yield read_record(unread, media_uri_required=media_uri_required)


def read_record(unread: Unread, *, media_uri_required: bool = True) -> ParsedRow | RowError:
    number, _ = unread
    line = _value(*unread)
    if isinstance(line, RowError):
        return line
    try:
        return row_from_object(line[1], line=number, media_uri_required=media_uri_required)
    except InvalidField as error:
        return RowError(number, error.field, error.message)


def iter_json_lines(stream: BinaryIO) -> Iterator[tuple[int, object] | RowError]:
    """(number, JSON value) for each line of a binary stream of JSON Lines, or a RowError
    for a line that is too long or not JSON; blank lines (Unicode whitespace too) are
    skipped. Whatever the lines hold, rows or a model's predictions."""
    for unread in _record_lines(stream):
        yield _value(*unread)


def _record_lines(stream: BinaryIO) -> Iterator[Unread]:
    """Each line that is not blank (Unicode whitespace is blank too), or is too long."""
    for number, content in _numbered_lines(stream):
        if content is None or (content.strip() and (b"{" in content or not _blank(content))):
            yield number, content


def _blank(content: bytes) -> bool:
    """Whether the line is Unicode whitespace alone (bytes.strip knows ASCII's only)."""
    try:
        return not content.decode("utf-8").strip()
    except UnicodeDecodeError:
        return False


def _value(number: int, content: bytes | None) -> tuple[int, object] | RowError:
    """The line's number and value, or its error."""
    if content is None:
        return RowError(
            number,
            None,
            f"line is longer than {MAX_LINE_BYTES // 1024} KiB; "
            "split the row's data or move large values out of the file",
        )
    try:
        return number, _decode(content)
    except UnicodeDecodeError as error:
        return RowError(
            number,
            None,
            f"line is not valid UTF-8 (bad byte at position {error.start + 1}); "
            "save the file as UTF-8",
        )
    except json.JSONDecodeError as error:
        return RowError(
            number,
            None,
            f"invalid JSON: {error.msg} (column {error.colno}); "
            "each line must be one complete JSON object",
        )
    except (ValueError, RecursionError) as error:
        return RowError(number, None, f"invalid JSON: {error}")


# orjson reads an integer beyond 64 bits as a float, dropping digits: a line with a run of
# 19 digits or more goes to the standard library, which keeps every digit. (Found by turning
# every digit into a zero: ten times faster than a regular expression.)
_DIGITS_AS_ZEROS = bytes.maketrans(b"123456789", b"000000000")
_NINETEEN_DIGITS = b"0" * 19


def _decode(content: bytes) -> object:
    """The line's JSON value. orjson reads the well-formed lines (three times faster); the
    standard library reads the rest and says what is wrong."""
    if _NINETEEN_DIGITS not in content.translate(_DIGITS_AS_ZEROS):
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            pass
    return json.loads(
        content.decode("utf-8"), parse_constant=reject_json_constant, parse_float=finite_float
    )


def _numbered_lines(stream: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """(number, bytes) for each physical line; None in place of a line past the limit."""
    number = 0
    while raw := stream.readline(MAX_LINE_BYTES + 2):
        number += 1
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        if not raw.endswith(b"\n") and len(raw) > MAX_LINE_BYTES:
            # The line goes on past what was read: drop the rest without holding it.
            while (rest := stream.readline(_SKIP_CHUNK_BYTES)) and not rest.endswith(b"\n"):
                pass
            yield number, None
            continue
        content = raw.rstrip(b"\r\n")
        yield number, (content if len(content) <= MAX_LINE_BYTES else None)
