"""Parsed rows as the text lines Postgres COPY reads: pure, so import workers build them in
a process of their own while the database writes the previous batch.

A row's content digest is computed here too: an import that brings a row's same content
again leaves it untouched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from apps.datasets.importers.records import ParsedRow, RowError

_NULL = "\\N"


@dataclass(frozen=True, slots=True)
class StagedRow:
    """What the writer needs of a row, and no more: batches travel from the process that
    stages them (apps/datasets/staging_process.py), and the parsed values stay behind."""

    external_id: str
    source_line: int | str  # where the row came from (ParsedRow.line)
    media_uri: str
    line: str  # the row's COPY line for the staging table, without its newline
    annotations: list[str]  # each annotation's COPY fields after data_row_id, tab-joined


@dataclass(frozen=True)
class StagedBatch:
    """One batch of a file: how many records it holds (good and bad), the rows to write and
    the errors found so far."""

    records: int
    rows: list[StagedRow]
    errors: list[RowError]


@dataclass(frozen=True)
class CommittedBatch:
    """Records an interrupted run of the import committed already, skipped when it resumes:
    only their rows' (external_id, line) travel on, for the run to remember which ids the
    file has named before."""

    ids: list[tuple[str, int | str]]


def stage_batch(records: Sequence[ParsedRow | RowError]) -> StagedBatch:
    """The batch's rows as COPY lines; a repeated external_id or a value Postgres could not
    take (an integer beyond 64 bits, say) is an error on its line."""
    errors = [record for record in records if isinstance(record, RowError)]
    rows: list[StagedRow] = []
    seen: dict[str, int | str] = {}
    for record in records:
        if isinstance(record, RowError):
            continue
        if record.external_id in seen:
            first = seen[record.external_id]
            message = f"{record.external_id!r} repeats the row at {first}"
            errors.append(RowError(record.line, "external_id", message))
            continue
        seen[record.external_id] = record.line
        try:
            rows.append(stage(record))
        except (TypeError, ValueError) as exc:
            errors.append(RowError(record.line, None, f"the row cannot be stored: {exc}"))
    return StagedBatch(records=len(records), rows=rows, errors=errors)


def stage(row: ParsedRow) -> StagedRow:
    metadata = _dumps(row.metadata)
    annotations = [
        (
            _text(a.class_name),
            str(a.geometry_type),
            _NULL if a.geometry is None else _escaped(_dumps(a.geometry)),
            _escaped(_dumps(a.attributes)),
            str(a.source),
        )
        for a in row.annotations
    ]
    content = [row.media_uri, row.width, row.height, metadata, row.tags, annotations]
    if row.media_digest is not None:  # the image's own bytes, where the import stores them
        content.append(row.media_digest)
    # Encoded as one JSON array, so no choice of values can make two rows digest alike.
    digest_input = orjson.dumps(content)
    digest = hashlib.md5(digest_input, usedforsecurity=False).hexdigest()
    line = "\t".join(
        (
            _text(row.external_id),
            _text(row.media_uri),
            _number(row.width),
            _number(row.height),
            _escaped(metadata),
            _array(row.tags),
            digest,
        )
    )
    return StagedRow(
        external_id=row.external_id,
        source_line=row.line,
        media_uri=row.media_uri,
        line=line,
        annotations=["\t".join(fields) for fields in annotations],
    )


def _text(value: str | None) -> str:
    """A value in COPY's text format: backslash, tab and line breaks escaped."""
    if value is None:
        return _NULL
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\\", "\\\\").replace("\t", "\\t")
        value = value.replace("\n", "\\n").replace("\r", "\\r")
    return value


def _dumps(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _escaped(json_text: str) -> str:
    # JSON escapes every control character inside its strings: only backslashes remain.
    return json_text.replace("\\", "\\\\")


def _number(value: int | None) -> str:
    return _NULL if value is None else str(int(value))


def _array(values: Sequence[str]) -> str:
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return _text("{" + ",".join(quoted) + "}")
