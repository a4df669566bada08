"""Writing a model version's predictions on a set of rows: the old ones deleted, the new ones
COPYed, in the caller's transaction (an inference chunk commits them with its progress).

Writing a version's predictions on rows replaces whatever that version had on them, so a
chunk written twice (a run resumed, a version run again, a file imported again) stores one
copy. Writers of one version take turns (a transaction lock per version): two of them at
once, each deleting before the other has inserted, would both keep their copy. The outbox
triggers hear both statements, and a drain is asked for once the caller commits: each row's
search document is rebuilt with its new predictions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import orjson
from django.db import connections
from django.utils import timezone

from apps.jobs.leases import lock_key
from apps.predictions.models import Prediction, PredictionSource
from search.outbox import request_drain

_TABLE = Prediction._meta.db_table
_COPY = (
    f"COPY {_TABLE} (data_row_id, model_version_id, class_name, score, rank, geometry_type, "
    "geometry, source, created_at) FROM STDIN"
)


@dataclass(frozen=True)
class PredictedObject:
    row_id: int
    class_name: str
    score: float
    rank: int
    bbox: tuple[float, float, float, float] | None = None  # x, y, w, h in the image's pixels


def replace_predictions(
    *,
    version_id: int,
    row_ids: Sequence[int],
    objects: Iterable[PredictedObject],
    source: PredictionSource,
) -> int:
    """Replace the version's predictions on `row_ids` by `objects` (each on one of those
    rows); returns how many were written. Call inside a transaction."""
    now = timezone.now()
    written = 0
    with connections["default"].cursor() as cursor:
        lock_version(cursor, version_id)
        cursor.execute(
            f"DELETE FROM {_TABLE} WHERE model_version_id = %s AND data_row_id = ANY(%s)",
            [version_id, list(row_ids)],
        )
        with cursor.cursor.copy(_COPY) as copy:
            for obj in objects:
                geometry = None if obj.bbox is None else _bbox_json(obj.bbox)
                copy.write_row(
                    (
                        obj.row_id, version_id, obj.class_name, obj.score, obj.rank,
                        "none" if geometry is None else "bbox", geometry, source, now,
                    )
                )  # fmt: skip
                written += 1
    request_drain()
    return written


def lock_version(cursor, version_id: int) -> None:
    """Wait for, then hold until the transaction ends, the right to write the version's
    predictions."""
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key("predictions", version_id)])


def _bbox_json(bbox: tuple[float, float, float, float]) -> str:
    x, y, w, h = bbox
    return orjson.dumps({"x": x, "y": y, "w": w, "h": h}).decode()
