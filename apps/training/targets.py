"""What a run learns from its rows, read from Postgres in id chunks.

Classification learns a row's whole-image annotation (one with no geometry): a row with none,
or with two different ones, has no target and is skipped. Detection learns a row's bbox
annotations: a row with none is skipped. The class list is fixed when a run starts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from django.db import connections

from apps.datasets.importers.records import GeometryType
from apps.datasets.models import Annotation, DataRow
from apps.training.errors import MediaUnreadable
from apps.training.specs import Task
from tenants.activation import active_schema

CHUNK_ROWS = 2048
# A bbox's coordinates, read as numbers by Postgres (null for a whole-image label).
_BOX = ", ".join(f"(a.geometry->>'{key}')::float8" for key in "xywh")
# A box is (class index, x, y, w, h) in the image's pixels.
Box = tuple[int, float, float, float, float]


@dataclass(frozen=True)
class Sample:
    """One training example: where its image is stored, and its target (a class index, or
    the boxes of detection)."""

    row_id: int
    media_name: str
    target: int | tuple[Box, ...]


@dataclass(frozen=True)
class Targets:
    classes: list[str]
    row_ids: np.ndarray  # sorted, the rows that have a target
    skipped: int


def _chunks(ids: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield [int(i) for i in ids[start : start + size]]


def _geometry(task: Task) -> str:
    return GeometryType.NONE if task == Task.CLASSIFICATION else GeometryType.BBOX


def find_targets(*, task: Task, row_ids: Sequence[int], chunk: int = CHUNK_ROWS) -> Targets:
    """The class list and the rows with a target among `row_ids` (sorted), in chunks."""
    table = Annotation._meta.db_table
    classes: set[str] = set()
    kept: list[int] = []
    with connections["default"].cursor() as cursor:
        for ids in _chunks(row_ids, chunk):
            cursor.execute(
                f"SELECT data_row_id, array_agg(DISTINCT class_name) FROM {table}"
                " WHERE data_row_id = ANY(%s) AND geometry_type = %s"
                " GROUP BY data_row_id ORDER BY data_row_id",
                [ids, _geometry(task)],
            )
            for row_id, names in cursor.fetchall():
                if task == Task.CLASSIFICATION and len(names) > 1:
                    continue
                kept.append(row_id)
                classes.update(names)
    return Targets(
        classes=sorted(classes),
        row_ids=np.asarray(kept, dtype=np.int64),
        skipped=len(row_ids) - len(kept),
    )


def iter_samples(
    *, task: Task, row_ids: Sequence[int], class_index: dict[str, int], chunk: int = CHUNK_ROWS
) -> Iterator[tuple[int, Sample]]:
    """The samples of `row_ids`, in their order, read a chunk at a time, each after how many
    of `row_ids` it accounts for (its index + 1: where to resume after it). A row deleted
    since the run started, or whose target has gone, is left out; targets are read as the
    annotations stand when the epoch reaches them. Raises MediaUnreadable for a row whose
    media is not in the tenant's storage."""
    rows, annotations = DataRow._meta.db_table, Annotation._meta.db_table
    geometry = _geometry(task)
    # Media a run may read: the tenant's own, as imports store them (a row may name any URI).
    prefix = f"{active_schema()}/"
    with connections["default"].cursor() as cursor:
        for first, ids in enumerate(_chunks(row_ids, chunk)):
            cursor.execute(
                f"SELECT r.id, r.media_uri, a.class_name, {_BOX} FROM {rows} r"
                f" JOIN {annotations} a ON a.data_row_id = r.id AND a.geometry_type = %s"
                " WHERE r.id = ANY(%s) ORDER BY a.id",
                [geometry, ids],
            )
            found: dict[int, tuple[str, list]] = {}
            for row_id, media_uri, class_name, *box in cursor.fetchall():
                if class_name not in class_index:
                    continue
                media, targets = found.setdefault(row_id, (media_uri, []))
                targets.append((class_index[class_name], *box))
            for offset, row_id in enumerate(ids, start=first * chunk + 1):
                if row_id in found:
                    media, targets = found[row_id]
                    if not media.startswith(prefix):
                        raise MediaUnreadable.of(row_id, media, "not in this tenant's storage")
                    yield offset, Sample(row_id, media, _target(task, targets))


def _target(task: Task, targets: list[Box]) -> int | tuple[Box, ...]:
    return targets[0][0] if task == Task.CLASSIFICATION else tuple(targets)


def split_rows(row_ids: np.ndarray, *, seed: int, validation_fraction: float):
    """(train, validation): each row falls on one side by a hash of its id and the seed, so
    the split is the same wherever and however often it is computed."""
    x = row_ids.astype(np.uint64) ^ np.uint64((seed * 0x9E3779B97F4A7C15) % 2**64)
    # splitmix64's finaliser: well-mixed bits from consecutive ids.
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    held_out = (x >> np.uint64(11)).astype(np.float64) / float(2**53) < validation_fraction
    return row_ids[~held_out], row_ids[held_out]


def epoch_order(train_ids: np.ndarray, *, seed: int, epoch: int) -> np.ndarray:
    """The order of an epoch's rows: a permutation fixed by the seed and the epoch."""
    return np.random.default_rng([seed, epoch]).permutation(train_ids)
