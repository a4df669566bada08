"""Matching one image's predicted boxes to its ground-truth boxes, as COCO does at one IoU
threshold: predictions in descending score take the unmatched ground-truth box of their
class that overlaps them most, if that overlap reaches the threshold. Pure Python."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Box = tuple[float, float, float, float]  # x, y, w, h


@dataclass(frozen=True)
class Truth:
    annotation_id: int
    class_name: str
    box: Box


@dataclass(frozen=True)
class Found:
    prediction_id: int
    class_name: str
    score: float
    box: Box


@dataclass(frozen=True)
class Verdict:
    """A prediction's verdict: `matched` is the ground truth it found (tp), else None (fp);
    `iou` its overlap with the best box of its class (None when the image has none)."""

    prediction_id: int
    matched: int | None
    iou: float | None


def iou(a: Box, b: Box) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = min(ax + aw, bx + bw) - max(ax, bx)
    h = min(ay + ah, by + bh) - max(ay, by)
    if w <= 0 or h <= 0:
        return 0.0
    overlap = w * h
    return overlap / (aw * ah + bw * bh - overlap)


def match_image(
    truths: Sequence[Truth], found: Sequence[Found], *, threshold: float
) -> tuple[list[Verdict], list[Truth]]:
    """The verdict on each prediction, and the ground-truth boxes no prediction found."""
    unmatched = list(truths)
    verdicts = []
    for prediction in sorted(found, key=lambda f: (-f.score, f.prediction_id)):
        same_class = [t for t in truths if t.class_name == prediction.class_name]
        best = max((iou(prediction.box, t.box) for t in same_class), default=None)
        candidates = [
            (iou(prediction.box, t.box), t)
            for t in unmatched
            if t.class_name == prediction.class_name
        ]
        overlap, truth = max(candidates, key=lambda c: c[0], default=(0.0, None))
        if truth is not None and overlap >= threshold:
            unmatched.remove(truth)
            verdicts.append(Verdict(prediction.prediction_id, truth.annotation_id, overlap))
        else:
            verdicts.append(Verdict(prediction.prediction_id, None, best))
    return verdicts, unmatched
