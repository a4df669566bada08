"""Evaluating a model version: its predictions on a snapshot's rows judged against the rows'
human annotations, a chunk of rows at a time, the verdicts written on the predicted objects.

Classification judges a row's top prediction against the row's whole-image label (a row with
none, or with two different ones, has no ground truth and is left out): `tp` when the classes
agree, `fp` otherwise; accuracy, per-class precision / recall / F1 and the confusion matrix
are scikit-learn's. Detection matches boxes per image at IoU 0.5 (matching.py): `tp` with its
IoU and matched annotation, `fp`, and for each ground-truth box nothing found an `fn` marker
in the version's layer (no score, the annotation's box); mAP is COCO's (coco_metrics.py).

A verdict is written only where it changes, so evaluating again rewrites (and reindexes)
only the rows whose verdicts moved, and the rows with `fn` markers, which are replaced. An
evaluation resumed after a lost worker starts again from the first chunk: its figures are
sums over every row. mAP needs every box of the snapshot at once: a detection evaluation holds
them all in memory (some 100 bytes a box).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import connections, transaction
from django.utils import timezone
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from apps.datasets.models import Annotation
from apps.jobs.events import append_event
from apps.jobs.lifecycle import finish_job, hold_job
from apps.jobs.models import JobStatus
from apps.predictions.coco_metrics import detection_map
from apps.predictions.matching import Found, Truth, match_image
from apps.predictions.models import (
    EVALUATION_KIND,
    Evaluation,
    Prediction,
    PredictionSource,
    Verdict,
)
from apps.predictions.writer import lock_version
from apps.slices import snapshot_ids
from apps.training.specs import Task
from search.outbox import request_drain

CHUNK_ROWS = 2048
IOU_THRESHOLD = 0.5
_PREDICTIONS = Prediction._meta.db_table
_ANNOTATIONS = Annotation._meta.db_table
_BOX = ", ".join(f"(geometry->>'{key}')::float8" for key in "xywh")

_SET_VERDICTS = f"""
UPDATE {_PREDICTIONS} AS p
SET eval = v.eval, iou = v.iou, matched_annotation_id = v.matched
FROM unnest(%s::bigint[], %s::text[], %s::float8[], %s::bigint[]) AS v(id, eval, iou, matched)
WHERE p.id = v.id AND (p.eval IS DISTINCT FROM v.eval OR p.iou IS DISTINCT FROM v.iou
                       OR p.matched_annotation_id IS DISTINCT FROM v.matched)
"""
_COPY_MISSED = (
    f"COPY {_PREDICTIONS} (data_row_id, model_version_id, class_name, geometry_type, geometry, "
    "source, eval, matched_annotation_id, created_at) FROM STDIN"
)


def run_evaluation(job_id: int) -> str | None:
    """Run the evaluation; returns its status, or None when another worker holds it."""
    with hold_job(EVALUATION_KIND, job_id) as held:
        if held is None:
            evaluation = Evaluation.objects.using("default").filter(pk=job_id).first()
            return evaluation.status if evaluation else None
        evaluation = (
            Evaluation.objects.using("default")
            .select_related("snapshot", "model_version__model")
            .get(pk=job_id)
        )
        append_event(evaluation, EVALUATION_KIND, "evaluation.started", {"task": evaluation.task})
        try:
            judge = Classification() if evaluation.task == Task.CLASSIFICATION else Detection()
            for done, ids in _chunks(evaluation):
                with transaction.atomic(using="default"), connections["default"].cursor() as cur:
                    # Before any verdict: a writer of the version's predictions waits, or is
                    # waited for, whole.
                    lock_version(cur, evaluation.model_version_id)
                    judge.judge_chunk(evaluation.model_version_id, ids)
                    append_event(
                        evaluation,
                        EVALUATION_KIND,
                        "chunk.progress",
                        {"rows_done": done, "rows": evaluation.rows_total},
                    )
            metrics = judge.metrics()
        except Exception as exc:
            finish_job(
                evaluation,
                EVALUATION_KIND,
                JobStatus.FAILED,
                error=f"internal_error: evaluation stopped ({type(exc).__name__})",
            )
            raise
        with transaction.atomic(using="default"):
            evaluation.metrics = metrics
            evaluation.save(update_fields=["metrics"])
            finish_job(evaluation, EVALUATION_KIND, JobStatus.SUCCEEDED, data={"metrics": metrics})
        return evaluation.status


def _chunks(evaluation: Evaluation) -> Iterator[tuple[int, list[int]]]:
    for first, ids in snapshot_ids.batches(evaluation.snapshot, size=CHUNK_ROWS):
        yield first + len(ids), ids.tolist()


def _fetch(sql: str, params: list) -> list[tuple]:
    with connections["default"].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _set_verdicts(verdicts: list[tuple[int, str | None, float | None, int | None]]) -> None:
    if verdicts:
        columns = [list(column) for column in zip(*verdicts, strict=True)]
        with connections["default"].cursor() as cursor:
            cursor.execute(_SET_VERDICTS, columns)


class Classification:
    def __init__(self) -> None:
        self.truth: list[str] = []
        self.predicted: list[str] = []
        self.without_label = 0
        self.without_prediction = 0

    def judge_chunk(self, version_id: int, ids: list[int]) -> None:
        labels = {
            row_id: (names[0], annotation_id)
            for row_id, names, annotation_id in _fetch(
                f"SELECT data_row_id, array_agg(DISTINCT class_name), min(id) FROM {_ANNOTATIONS}"
                " WHERE data_row_id = ANY(%s) AND geometry_type = 'none' GROUP BY data_row_id",
                [ids],
            )
            if len(names) == 1
        }
        predictions = _fetch(
            f"SELECT id, data_row_id, class_name, rank, eval, iou, matched_annotation_id"
            f" FROM {_PREDICTIONS} WHERE model_version_id = %s AND data_row_id = ANY(%s)"
            " ORDER BY data_row_id, rank NULLS LAST, score DESC NULLS LAST, id",
            [version_id, ids],
        )
        verdicts, top_seen = [], set()
        for prediction_id, row_id, class_name, *_ in predictions:
            verdict, matched = None, None
            if row_id not in top_seen:
                top_seen.add(row_id)
                if row_id in labels:
                    truth, annotation_id = labels[row_id]
                    hit = class_name == truth
                    verdict = Verdict.TP if hit else Verdict.FP
                    matched = annotation_id if hit else None
                    self.truth.append(truth)
                    self.predicted.append(class_name)
            verdicts.append((prediction_id, verdict, None, matched))
        self.without_label += len(top_seen - labels.keys())
        self.without_prediction += len(labels.keys() - top_seen)
        _set_verdicts(verdicts)
        request_drain()

    def metrics(self) -> dict:
        names = sorted(set(self.truth) | set(self.predicted))
        base = {
            "rows_evaluated": len(self.truth),
            "rows_without_label": self.without_label,
            "rows_without_prediction": self.without_prediction,
        }
        if not self.truth:
            return {**base, "accuracy": None, "per_class": {}, "confusion_matrix": None}
        precision, recall, f1, support = precision_recall_fscore_support(
            self.truth, self.predicted, labels=names, zero_division=0
        )
        matrix = confusion_matrix(self.truth, self.predicted, labels=names)
        return {
            **base,
            "accuracy": float(accuracy_score(self.truth, self.predicted)),
            "per_class": {
                name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(n)}
                for name, p, r, f, n in zip(names, precision, recall, f1, support, strict=True)
            },
            # Rows are the true classes, columns the predicted ones, both in `labels` order.
            "confusion_matrix": {"labels": names, "matrix": matrix.tolist()},
        }


class Detection:
    def __init__(self) -> None:
        self.class_index: dict[str, int] = {}
        self.images_found: list[list[tuple]] = []
        self.images_truth: list[list[tuple]] = []
        self.counts = {Verdict.TP: 0, Verdict.FP: 0, Verdict.FN: 0}

    def _index(self, name: str) -> int:
        return self.class_index.setdefault(name, len(self.class_index))

    def judge_chunk(self, version_id: int, ids: list[int]) -> None:
        truths: dict[int, list[Truth]] = {}
        for row_id, annotation_id, class_name, *box in _fetch(
            f"SELECT data_row_id, id, class_name, {_BOX} FROM {_ANNOTATIONS}"
            " WHERE data_row_id = ANY(%s) AND geometry_type = 'bbox' ORDER BY id",
            [ids],
        ):
            truths.setdefault(row_id, []).append(Truth(annotation_id, class_name, tuple(box)))
        found: dict[int, list[Found]] = {}
        for row_id, prediction_id, class_name, score, *box in _fetch(
            f"SELECT data_row_id, id, class_name, score, {_BOX} FROM {_PREDICTIONS}"
            " WHERE model_version_id = %s AND data_row_id = ANY(%s) AND source != %s"
            " AND geometry_type = 'bbox'",
            [version_id, ids, PredictionSource.EVALUATION],
        ):
            found.setdefault(row_id, []).append(Found(prediction_id, class_name, score, tuple(box)))
        verdicts, missed = [], []
        for row_id in ids:
            row_truths, row_found = truths.get(row_id, []), found.get(row_id, [])
            judged, unmatched = match_image(row_truths, row_found, threshold=IOU_THRESHOLD)
            for v in judged:
                verdict = Verdict.TP if v.matched is not None else Verdict.FP
                self.counts[verdict] += 1
                verdicts.append((v.prediction_id, verdict, v.iou, v.matched))
            self.counts[Verdict.FN] += len(unmatched)
            missed += [(row_id, t) for t in unmatched]
            self.images_truth.append([(self._index(t.class_name), *t.box) for t in row_truths])
            self.images_found.append(
                [(self._index(f.class_name), f.score, *f.box) for f in row_found]
            )
        _set_verdicts(verdicts)
        self._replace_missed(version_id, ids, missed)
        request_drain()

    def _replace_missed(self, version_id: int, ids: list[int], missed: list) -> None:
        now = timezone.now()
        with connections["default"].cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {_PREDICTIONS} WHERE model_version_id = %s"
                " AND data_row_id = ANY(%s) AND source = %s",
                [version_id, ids, PredictionSource.EVALUATION],
            )
            if not missed:
                return
            with cursor.cursor.copy(_COPY_MISSED) as copy:
                for row_id, truth in missed:
                    x, y, w, h = truth.box
                    geometry = f'{{"x": {x!r}, "y": {y!r}, "w": {w!r}, "h": {h!r}}}'
                    copy.write_row(
                        (row_id, version_id, truth.class_name, "bbox", geometry,
                         PredictionSource.EVALUATION, Verdict.FN, truth.annotation_id, now)
                    )  # fmt: skip

    def metrics(self) -> dict:
        names = list(self.class_index)
        result = detection_map(self.images_found, self.images_truth, num_classes=len(names))
        return {
            "map": result["map"],
            "map50": result["map50"],
            "per_class": {names[i]: figures for i, figures in sorted(result["per_class"].items())},
            "iou_threshold": IOU_THRESHOLD,
            "rows_evaluated": len(self.images_truth),
            "tp": self.counts[Verdict.TP],
            "fp": self.counts[Verdict.FP],
            "fn": self.counts[Verdict.FN],
        }
