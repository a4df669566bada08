"""A batch of rows' records matched to the dataset's rows: what is written on each, and the
errors of the records that cannot be."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from django.db import connections

from apps.datasets.importers.coco import COCO_ID_KEY
from apps.datasets.importers.records import RowError
from apps.datasets.models import DataRow
from apps.predictions.files.errors import PredictionFileError
from apps.predictions.files.grouping import RecordGroup
from apps.predictions.files.records import KeyKind, RowKey
from apps.predictions.files.validation import MAX_PREDICTIONS_PER_ROW
from apps.predictions.writer import PredictedObject

_ROWS = DataRow._meta.db_table
_SELECT = {
    KeyKind.EXTERNAL_ID: f"SELECT external_id, id FROM {_ROWS}"
    " WHERE dataset_id = %(dataset)s AND external_id = ANY(%(values)s)",
    KeyKind.ROW: f"SELECT id, id FROM {_ROWS}"
    " WHERE dataset_id = %(dataset)s AND id = ANY(%(values)s::bigint[])",
    # One containment probe of the metadata's GIN index per id: a single `@> ANY(...)` would
    # recheck every candidate row against every id (a second for 5,000 ids, measured).
    KeyKind.COCO_ID: f"SELECT k.value, r.id FROM unnest(%(values)s::bigint[]) AS k (value)"
    f" JOIN {_ROWS} AS r ON r.dataset_id = %(dataset)s"
    f" AND r.metadata @> jsonb_build_object('{COCO_ID_KEY}', k.value)",
}


def rows_named(*, dataset_id: int, keys: Iterable[RowKey]) -> dict[RowKey, list[int]]:
    """The ids of the dataset's rows each key names, read from the primary. A COCO image id
    can name more than one: two COCO files imported into one dataset may share ids."""
    by_kind: dict[KeyKind, list[str]] = defaultdict(list)
    for key in keys:
        by_kind[key.kind].append(key.value)
    found: dict[RowKey, list[int]] = defaultdict(list)
    with connections["default"].cursor() as cursor:
        for kind, values in by_kind.items():
            ids = kind != KeyKind.EXTERNAL_ID
            cursor.execute(
                _SELECT[kind],
                {"dataset": dataset_id, "values": [int(v) for v in values] if ids else values},
            )
            for name, row_id in cursor.fetchall():
                found[RowKey(kind, str(name))].append(row_id)
    return found


@dataclass
class Assignment:
    """What a batch writes: the rows whose predictions it replaces, the objects on them, and
    the records it refuses."""

    row_ids: list[int] = field(default_factory=list)
    objects: list[PredictedObject] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def assign(groups: Sequence[RecordGroup], rows: dict[RowKey, list[int]]) -> Assignment:
    """Each group's predictions on the row its key names, ranked best first (ties in file
    order); a group with a bad record, no row or too many predictions writes nothing."""
    assignment = Assignment()
    for group in groups:
        errors = _refusals(group, rows.get(group.key, []) if group.key else [])
        if errors:
            assignment.errors += errors
            continue
        (row_id,) = rows[group.key]
        predictions = [p for record in group.records for p in record.predictions]
        ranked = sorted(predictions, key=lambda p: -p.score)
        assignment.row_ids.append(row_id)
        assignment.objects += [
            PredictedObject(row_id, p.class_name, p.score, rank, p.bbox)
            for rank, p in enumerate(ranked)
        ]
    return assignment


def _refusals(group: RecordGroup, row_ids: list[int]) -> list[RowError]:
    bad = [record.error for record in group.records if record.error is not None]
    if bad:
        if len(bad) < len(group.records):
            note = "; the row's other predictions in the file are not imported either"
            return [replace(error, message=error.message + note) for error in bad]
        return bad
    if len(row_ids) != 1:
        return [
            _unmatched(record.line, record.key_field, group.key, row_ids)
            for record in group.records
        ]
    count = sum(len(record.predictions) for record in group.records)
    if count > MAX_PREDICTIONS_PER_ROW:
        first = group.records[0]
        message = (
            f"{PredictionFileError.TOO_MANY_PREDICTIONS}: the file holds {count} predictions "
            f"for this row; at most {MAX_PREDICTIONS_PER_ROW} are kept per row"
        )
        return [RowError(first.line, None, message)]
    return []


def _unmatched(line, field: str | None, key: RowKey, row_ids: list[int]) -> RowError:
    named = {
        KeyKind.EXTERNAL_ID: f"external_id {key.value!r}",
        KeyKind.ROW: f"row {key.value}",
        KeyKind.COCO_ID: f"COCO image id {key.value}",
    }[key.kind]
    if not row_ids:
        message = f"{PredictionFileError.UNKNOWN_ROW}: {named} matches no row of the dataset"
    else:
        message = (
            f"{PredictionFileError.AMBIGUOUS_ROW}: {named} matches {len(row_ids)} rows of the "
            f"dataset (ids {', '.join(map(str, sorted(row_ids)))}); name the image by its "
            "file_name (the row's external_id) instead"
        )
    return RowError(line, field, message)
