"""A file's prediction records gathered by the row they name, in a scratch SQLite database.

A row's predictions may lie anywhere in a file (a COCO results file lists objects, not
images), and writing a version's predictions on a row replaces what it had there: so no row
may be written before all its records are read. The records are stored as they are parsed
and handed back a row at a time, in an order that depends on the file alone (rows by key,
each row's records in file order, after the records that name no row), so a resumed import
that skips the records an earlier attempt committed skips exactly those.

The file names every row one way: by external_id, by row id, or by COCO image id. Two
names of one kind never mean one row, so one key is one row; a record naming its row
another way than the file's first is an error.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import orjson

from apps.datasets.importers.records import RowError
from apps.predictions.files.records import KeyKind, ParsedPrediction, PredictionRecord, RowKey

_SCHEMA = """
PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
CREATE TABLE records (idx INTEGER PRIMARY KEY, kind TEXT, value TEXT, body BLOB NOT NULL);
"""
# Made once the records are in: faster than keeping it up while they go in.
_INDEX = "CREATE INDEX records_by_row ON records (kind, value, idx)"
_NAMED_BY = {
    KeyKind.EXTERNAL_ID: "its external_id",
    KeyKind.ROW: "its id (row)",
    KeyKind.COCO_ID: "its COCO image id (an integer image_id)",
}


@dataclass(frozen=True)
class RecordGroup:
    """A row's records in the file, or (key None) one record that names no row."""

    key: RowKey | None
    records: tuple[PredictionRecord, ...]


class RecordsByRow:
    """The scratch store: `add` the file's records once, then read `groups()` in order."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._db = sqlite3.connect(path)
        self._db.executescript(_SCHEMA)
        self._first: PredictionRecord | None = None  # the first record that names a row

    def close(self) -> None:
        self._db.close()

    def add(self, records: Iterable[PredictionRecord]) -> int:
        """Store the records; returns how many there were."""
        count = 0
        with self._db:
            for idx, record in enumerate(records):
                record = self._named_as_the_file_does(record)
                key = record.key
                self._db.execute(
                    "INSERT INTO records VALUES (?, ?, ?, ?)",
                    (idx, key and key.kind, key and key.value, _dumps(record)),
                )
                count += 1
            self._db.execute(_INDEX)
        return count

    def groups(self) -> Iterator[RecordGroup]:
        rows = self._db.execute("SELECT kind, value, body FROM records ORDER BY kind, value, idx")
        for (kind, value), same in itertools.groupby(rows, key=lambda r: (r[0], r[1])):
            key = None if kind is None else RowKey(KeyKind(kind), value)
            records = (_loads(body, key) for *_, body in same)
            if key is None:
                yield from (RecordGroup(None, (record,)) for record in records)
            else:
                yield RecordGroup(key, tuple(records))

    def _named_as_the_file_does(self, record: PredictionRecord) -> PredictionRecord:
        if record.key is None:
            return record
        if self._first is None:
            self._first = record
        first = self._first
        if record.key.kind == first.key.kind:
            return record
        message = (
            f"{record.key_field} names the row by {_NAMED_BY[record.key.kind]}, but "
            f"{_where(first)} names its row by {_NAMED_BY[first.key.kind]}; "
            "name every row of a file the same way"
        )
        error = RowError(record.line, record.key_field, message)
        return PredictionRecord(record.line, None, error=error)


def _where(record: PredictionRecord) -> str:
    return f"line {record.line}" if isinstance(record.line, int) else f"item {record.line}"


def _dumps(record: PredictionRecord) -> bytes:
    error = record.error
    return orjson.dumps(
        [
            record.line,
            record.key_field,
            [[p.class_name, p.score, p.bbox] for p in record.predictions],
            None if error is None else [error.line, error.field, error.message],
        ]
    )


def _loads(body: bytes, key: RowKey | None) -> PredictionRecord:
    line, key_field, predictions, error = orjson.loads(body)
    return PredictionRecord(
        line=line,
        key=key,
        key_field=key_field,
        predictions=tuple(
            ParsedPrediction(name, score, None if bbox is None else tuple(bbox))
            for name, score, bbox in predictions
        ),
        error=None if error is None else RowError(*error),
    )
