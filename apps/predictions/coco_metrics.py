"""COCO box mAP of detections against ground truth, by faster-coco-eval (pycocotools' numbers,
its matching in C++). Pure: the COCO datasets are built in memory, nothing is read or written.

Boxes are (x, y, w, h) in one image's pixels, top-left origin; classes are indices from 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from faster_coco_eval import COCO, COCOeval_faster

# A ground-truth box, as apps/training/targets.py's Box: (class index, x, y, w, h).
Box = tuple[int, float, float, float, float]
# A detection: (class index, score, x, y, w, h).
Detection = tuple[int, float, float, float, float, float]


def _quiet(*_args, **_kwargs) -> None:
    pass


def detection_map(
    predictions: Sequence[Sequence[Detection]],
    ground_truth: Sequence[Sequence[Box]],
    num_classes: int,
) -> dict:
    """{"map": AP@[.5:.95], "map50": AP@.5, "per_class": {index: {"map", "map50"}}}, COCO's
    way: at most 100 detections an image, averaged over the classes that have a ground-truth
    box (a class with none has no AP and is left out of per_class). An image may have no
    detections; with none at all, every AP is 0.0. With no ground-truth box at all there is
    nothing to find: map and map50 are 0.0 and per_class is empty."""
    if len(predictions) != len(ground_truth):
        raise ValueError(
            f"{len(predictions)} images of predictions for {len(ground_truth)} of ground truth"
        )
    unknown = {int(box[0]) for boxes in (*ground_truth, *predictions) for box in boxes}
    unknown -= set(range(num_classes))
    if unknown:
        raise ValueError(f"class indices {sorted(unknown)} are not in 0..{num_classes - 1}")
    images = [{"id": i, "width": 0, "height": 0} for i in range(1, len(ground_truth) + 1)]
    categories = [{"id": c, "name": str(c - 1)} for c in range(1, num_classes + 1)]
    truths = [
        {
            "id": n,  # from 1: an id of 0 reads as "unmatched" inside the evaluation
            "image_id": image_id,
            "category_id": int(c) + 1,
            "bbox": [float(x), float(y), float(w), float(h)],
            "area": float(w) * float(h),
            "iscrowd": 0,
        }
        for n, (image_id, (c, x, y, w, h)) in enumerate(
            ((i, box) for i, boxes in enumerate(ground_truth, start=1) for box in boxes), start=1
        )
    ]
    if not truths:
        return {"map": 0.0, "map50": 0.0, "per_class": {}}
    detections = [
        {
            "image_id": image_id,
            "category_id": int(c) + 1,
            "score": float(score),
            "bbox": [float(x), float(y), float(w), float(h)],
        }
        for image_id, found in enumerate(predictions, start=1)
        for c, score, x, y, w, h in found
    ]
    gt = COCO({"images": images, "categories": categories, "annotations": truths})
    gt.print_function = _quiet
    evaluation = COCOeval_faster(gt, gt.loadRes(detections), "bbox", print_function=_quiet)
    evaluation.evaluate()
    evaluation.accumulate()
    # precision: [IoU threshold, recall threshold, class, area range, max detections]; -1
    # where a class has no ground truth. Area "all" and 100 detections are the last two.
    precision = np.asarray(evaluation.eval["precision"])[:, :, :, 0, -1]
    per_class = {}
    for k, category in enumerate(evaluation.params.catIds):
        ap = _mean(precision[:, :, k])
        if ap is not None:
            per_class[int(category) - 1] = {"map": ap, "map50": _mean(precision[0, :, k])}
    return {
        "map": _mean(precision) or 0.0,
        "map50": _mean(precision[0]) or 0.0,
        "per_class": per_class,
    }


def _mean(values: np.ndarray) -> float | None:
    """COCO's mean over the cells that have a value (-1 marks none); None when none has."""
    present = values[values > -1]
    return float(present.mean()) if present.size else None
