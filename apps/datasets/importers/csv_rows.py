"""CSV: a header row naming the columns, then one row per record.

Columns: `external_id` and `media_uri` (required); `width`, `height`, `tags` (separated by
`|`), `annotations` (a JSON array in the JSONL annotation shape) and any number of
`metadata.<key>` columns, where `metadata.a.b` builds {"a": {"b": ...}}. Every cell but the
external_id is trimmed of spaces.
"""

from __future__ import annotations

import codecs
import csv
import json
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from apps.datasets.importers.records import FileRejected, ParsedRow, RowError
from apps.datasets.importers.validation import (
    InvalidField,
    check_annotations,
    check_external_id,
    check_media_uri,
    check_size,
    check_tags,
    finite_float,
    reject_json_constant,
)

MAX_RECORD_BYTES = 1024 * 1024
REQUIRED_COLUMNS = ("external_id", "media_uri")
OPTIONAL_COLUMNS = ("width", "height", "tags", "annotations")
METADATA_PREFIX = "metadata."
TAG_SEPARATOR = "|"

# JSON's number grammar: "007" and "1_000" stay strings, as a spreadsheet user means them.
_INTEGER = re.compile(r"-?(?:0|[1-9]\d*)")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_SKIP_CHUNK_BYTES = 64 * 1024


class CsvImporter:
    """Reads a CSV file of rows under a header.

    Raises `FileRejected` before yielding anything when the header is unusable (codes
    `empty_file`, `missing_columns`, `unknown_columns`, `duplicate_columns`,
    `conflicting_columns`). Then yields one `ParsedRow` or `RowError` per record, numbered by
    the physical line the record starts on (the header is line 1); blank records are skipped.
    Holds one record at a time: a record past `MAX_RECORD_BYTES` is reported, not read whole.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = path

    def iter_records(self) -> Iterator[ParsedRow | RowError]:
        with open(self._path, "rb") as stream:
            lines = _RecordLines(stream)
            reader = csv.reader(lines)
            header = _read_header(reader)
            while True:
                start = lines.line_number + 1
                lines.start_record()
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except _UnreadableLine as error:
                    yield RowError(error.line, None, error.message)
                    continue
                except csv.Error as error:
                    yield RowError(start, None, f"malformed CSV: {error}")
                    continue
                if any(cell.strip() for cell in cells):
                    yield header.row(start, cells)


@dataclass(frozen=True)
class _Header:
    names: tuple[str, ...]
    # column index -> the nested keys a metadata column fills
    metadata_paths: dict[int, tuple[str, ...]]

    def row(self, line: int, cells: list[str]) -> ParsedRow | RowError:
        if len(cells) != len(self.names):
            return RowError(
                line,
                None,
                f"row has {len(cells)} cells but the header has {len(self.names)} columns; "
                "give every row one cell per column (quote cells that contain commas)",
            )
        values = {name: cell.strip() for name, cell in zip(self.names, cells, strict=True)}
        try:
            return ParsedRow(
                line=line,
                # Untrimmed: a row's key is kept exactly as written, as every format keeps it.
                external_id=check_external_id(cells[self.names.index("external_id")]),
                media_uri=check_media_uri(values["media_uri"]),
                width=_size(values.get("width", ""), "width"),
                height=_size(values.get("height", ""), "height"),
                metadata=self._metadata(cells),
                tags=_tags(values.get("tags", "")),
                annotations=_annotations(values.get("annotations", "")),
            )
        except InvalidField as error:
            return RowError(line, error.field, error.message)

    def _metadata(self, cells: list[str]) -> dict:
        metadata: dict = {}
        for index, path in self.metadata_paths.items():
            cell = cells[index].strip()
            if not cell:
                continue
            node = metadata
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = typed_value(cell)
        return metadata


def typed_value(cell: str) -> int | float | bool | str:
    """A metadata cell as its type: an integer, a number, true/false, or else the text."""
    if _INTEGER.fullmatch(cell):
        return int(cell)
    if _NUMBER.fullmatch(cell) and math.isfinite(float(cell)):
        return float(cell)
    if cell.lower() in ("true", "false"):
        return cell.lower() == "true"
    return cell


def _tags(cell: str) -> tuple[str, ...]:
    return check_tags([tag.strip() for tag in cell.split(TAG_SEPARATOR) if tag.strip()])


def _size(cell: str, field: str) -> int | None:
    if not cell:
        return None
    if not _INTEGER.fullmatch(cell):
        raise InvalidField(field, f"{field} must be a whole number of pixels above 0; got {cell!r}")
    return check_size(int(cell), field)


def _annotations(cell: str) -> tuple:
    if not cell:
        return ()
    try:
        value = json.loads(cell, parse_constant=reject_json_constant, parse_float=finite_float)
    except (ValueError, RecursionError) as error:
        raise InvalidField(
            "annotations", f"annotations must be a JSON array of objects; invalid JSON: {error}"
        ) from None
    return check_annotations(value)


def _read_header(reader: Iterator[list[str]]) -> _Header:
    try:
        cells = next(reader)
    except StopIteration:
        raise FileRejected(
            "empty_file", "the file is empty; its first line must name the columns"
        ) from None
    except (_UnreadableLine, csv.Error) as error:
        raise FileRejected("missing_columns", f"the header line cannot be read: {error}") from None
    names = tuple(cell.strip() for cell in cells)
    metadata_paths = {
        index: tuple(name.removeprefix(METADATA_PREFIX).split("."))
        for index, name in enumerate(names)
        if name.startswith(METADATA_PREFIX)
    }
    _check_columns(names, metadata_paths)
    return _Header(names=names, metadata_paths=metadata_paths)


def _check_columns(names: tuple[str, ...], metadata_paths: dict[int, tuple[str, ...]]) -> None:
    known = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    unknown = [
        name
        for index, name in enumerate(names)
        if name not in known and not (index in metadata_paths and all(metadata_paths[index]))
    ]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        hint = f" (found unknown columns: {', '.join(unknown)})" if unknown else ""
        raise FileRejected(
            "missing_columns",
            f"the header must name the columns {', '.join(REQUIRED_COLUMNS)}; "
            f"missing: {', '.join(missing)}{hint}",
        )
    if unknown:
        raise FileRejected(
            "unknown_columns",
            f"unknown columns: {', '.join(repr(name) for name in unknown)}; allowed are "
            f"{', '.join(known)} and metadata.<key> (metadata.<key>.<key> for nested keys)",
        )
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise FileRejected(
            "duplicate_columns", f"columns named more than once: {', '.join(duplicated)}"
        )
    paths = set(metadata_paths.values())
    for path in paths:
        for length in range(1, len(path)):
            if path[:length] in paths:
                parent = METADATA_PREFIX + ".".join(path[:length])
                raise FileRejected(
                    "conflicting_columns",
                    f"{parent} cannot hold both a value and the nested key "
                    f"{METADATA_PREFIX + '.'.join(path)}; rename one of them",
                )


class _UnreadableLine(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


class _RecordLines:
    """A binary stream's lines as text for `csv.reader`, counting physical lines and refusing
    a record that grows past `MAX_RECORD_BYTES` (its line's rest is skipped, not held)."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._record_bytes = 0
        self.line_number = 0

    def start_record(self) -> None:
        self._record_bytes = 0

    def __iter__(self) -> _RecordLines:
        return self

    def __next__(self) -> str:
        raw = self._stream.readline(MAX_RECORD_BYTES + 1)
        if not raw:
            raise StopIteration
        self.line_number += 1
        self._record_bytes += len(raw)
        if self._record_bytes > MAX_RECORD_BYTES:
            while not raw.endswith(b"\n") and (raw := self._stream.readline(_SKIP_CHUNK_BYTES)):
                pass
            raise _UnreadableLine(
                self.line_number,
                f"record is longer than {MAX_RECORD_BYTES // 1024} KiB; "
                "split the row's data or move large values out of the file",
            )
        if self.line_number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _UnreadableLine(
                self.line_number,
                f"line is not valid UTF-8 (bad byte at position {error.start + 1}); "
                "save the file as UTF-8",
            ) from None
