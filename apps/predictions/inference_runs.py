"""An inference run's database side, as its worker calls it (workers/engines/inference.py):
its rows a chunk at a time, each chunk's predictions committed with its progress, its end.

A chunk is the run's unit of work and of resume: its predictions replace the version's on
its rows and `rows_done` moves past it in one transaction, so a run resumed after a lost
worker starts at the first chunk not committed, with no duplicate and no gap.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.db import connections, transaction
from django.db.models import F

from apps.datasets.models import DataRow
from apps.jobs.events import append_event
from apps.jobs.lifecycle import finish_job
from apps.jobs.models import JobStatus
from apps.predictions.models import INFERENCE_KIND, InferenceRun, PredictionSource
from apps.predictions.writer import PredictedObject, replace_predictions
from apps.slices import snapshot_ids
from tenants.activation import active_schema

# The reasons a chunk's event lists for the rows it skipped, at most.
_SKIPPED_LISTED = 20


@dataclass(frozen=True)
class ChunkRow:
    row_id: int
    media_name: str


def start(run: InferenceRun, *, device: str) -> None:
    """Announce the run's start (`inference.started`) or its resume after a lost worker
    (`inference.resumed`)."""
    with transaction.atomic(using="default"):
        run.device = device
        run.save(update_fields=["device"])
        if run.attempts > 1:
            body = {"rows_done": run.rows_done, "rows": run.rows_total, "device": device}
            append_event(run, INFERENCE_KIND, "inference.resumed", body)
        else:
            body = {"rows": run.rows_total, "device": device, "chunk_size": run.chunk_size}
            append_event(run, INFERENCE_KIND, "inference.started", body)


class RunTakenOver(Exception):
    """The run's progress moved on under this worker: another holds it now."""


def chunks(run: InferenceRun) -> Iterator[tuple[int, list[int]]]:
    """The run's chunks of row ids, in id order, from the first one not committed, each
    after where it starts; read from the snapshot a chunk at a time."""
    for first, ids in snapshot_ids.batches(run.snapshot, size=run.chunk_size, start=run.rows_done):
        yield first, ids.tolist()


def read_chunk(ids: Sequence[int]) -> tuple[list[ChunkRow], list[dict]]:
    """The rows of a chunk that can be read, in id order, and why the others cannot (a row
    deleted since the snapshot, or whose media is not in the tenant's storage)."""
    prefix = f"{active_schema()}/"
    with connections["default"].cursor() as cursor:
        cursor.execute(
            f"SELECT id, media_uri FROM {DataRow._meta.db_table} WHERE id = ANY(%s) ORDER BY id",
            [list(ids)],
        )
        found = dict(cursor.fetchall())
    rows, skipped = [], []
    for row_id in ids:
        media = found.get(row_id)
        if media is None:
            skipped.append({"row": row_id, "reason": "deleted since the snapshot"})
        elif not media.startswith(prefix):
            skipped.append({"row": row_id, "reason": "its media is not in this tenant's storage"})
        else:
            rows.append(ChunkRow(row_id, media))
    return rows, skipped


def commit_chunk(
    run: InferenceRun,
    *,
    start: int,
    row_ids: Sequence[int],
    objects: Sequence[PredictedObject],
    skipped: Sequence[dict],
    batch_size: int,
) -> None:
    """The chunk's predictions, its progress and its event, in one transaction. The progress
    moves from `start` only: should the run's lease have gone with a lost connection and
    another worker have committed this chunk, RunTakenOver rolls it all back."""
    with transaction.atomic(using="default"):
        written = replace_predictions(
            version_id=run.model_version_id,
            row_ids=row_ids,
            objects=objects,
            source=PredictionSource.INFERENCE,
        )
        moved = (
            InferenceRun.objects.using("default")
            .filter(pk=run.pk, rows_done=start)
            .update(
                rows_done=start + len(row_ids),
                rows_skipped=F("rows_skipped") + len(skipped),
                predictions_written=F("predictions_written") + written,
                batch_size=batch_size,
            )
        )
        if not moved:
            raise RunTakenOver(f"inference run {run.pk} is past row {start}")
        run.refresh_from_db(
            fields=["rows_done", "rows_skipped", "predictions_written", "batch_size"]
        )
        body = {
            "rows_done": run.rows_done,
            "rows": run.rows_total,
            "predictions": run.predictions_written,
            "rows_skipped": run.rows_skipped,
        }
        if skipped:
            body["skipped"] = list(skipped[:_SKIPPED_LISTED])
        append_event(run, INFERENCE_KIND, "chunk.progress", body)


def batch_size_reduced(run: InferenceRun, *, old: int, new: int) -> None:
    append_event(run, INFERENCE_KIND, "batch.reduced", {"from": old, "to": new})


def stop_requested(run: InferenceRun) -> bool:
    status = InferenceRun.objects.using("default").values_list("status", flat=True).get(pk=run.pk)
    return status == JobStatus.CANCELLING


def _totals(run: InferenceRun) -> dict:
    return {
        "rows_done": run.rows_done,
        "rows_skipped": run.rows_skipped,
        "predictions": run.predictions_written,
    }


def complete(run: InferenceRun) -> None:
    finish_job(run, INFERENCE_KIND, JobStatus.SUCCEEDED, data=_totals(run))


def cancel(run: InferenceRun) -> None:
    finish_job(run, INFERENCE_KIND, JobStatus.CANCELLED, data=_totals(run))


def fail(run: InferenceRun, error: str) -> None:
    finish_job(run, INFERENCE_KIND, JobStatus.FAILED, error=error)
