"""`detection_map`: COCO box mAP, checked on cases whose AP can be worked out by hand, and held
to pycocotools itself on random cases."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from apps.predictions.coco_metrics import detection_map

GROUND_TRUTH = [
    [(0, 10.0, 10.0, 20.0, 20.0), (1, 50.0, 50.0, 30.0, 30.0)],
    [(0, 5.0, 5.0, 10.0, 10.0)],
    [(2, 0.0, 0.0, 64.0, 32.0)],
]


def exact(ground_truth, score=0.9):
    return [[(c, score, x, y, w, h) for c, x, y, w, h in boxes] for boxes in ground_truth]


def test_perfect_predictions_score_one():
    result = detection_map(exact(GROUND_TRUTH), GROUND_TRUTH, num_classes=3)
    assert result["map"] == pytest.approx(1.0)
    assert result["map50"] == pytest.approx(1.0)
    assert set(result["per_class"]) == {0, 1, 2}
    assert all(
        v == {"map": pytest.approx(1.0), "map50": pytest.approx(1.0)}
        for v in result["per_class"].values()
    )


def test_a_shifted_box_counts_at_half_but_not_at_three_quarters():
    # Shifted 4 px right: IoU = 16*20 / (24*20) = 0.667, above 0.50..0.65, below 0.70..0.95.
    ground_truth = [[(0, 10.0, 10.0, 20.0, 20.0)]]
    result = detection_map([[(0, 0.9, 14.0, 10.0, 20.0, 20.0)]], ground_truth, num_classes=1)
    assert result["map50"] == pytest.approx(1.0)
    assert result["map"] == pytest.approx(0.4)  # 4 of the 10 IoU thresholds


def test_a_wrong_class_scores_zero():
    ground_truth = [[(0, 10.0, 10.0, 20.0, 20.0)]]
    result = detection_map([[(1, 0.9, 10.0, 10.0, 20.0, 20.0)]], ground_truth, num_classes=2)
    assert result["map"] == 0.0
    assert result["map50"] == 0.0
    # Class 1 has no ground truth: it has no AP, and is not averaged in.
    assert set(result["per_class"]) == {0}


def test_no_predictions_score_zero():
    result = detection_map([[], [], []], GROUND_TRUTH, num_classes=3)
    assert result["map"] == 0.0
    assert result["map50"] == 0.0
    assert result["per_class"][1] == {"map": 0.0, "map50": 0.0}


def test_an_image_without_predictions_counts_its_boxes_as_missed():
    predictions = exact(GROUND_TRUTH)
    predictions[1] = []
    result = detection_map(predictions, GROUND_TRUTH, num_classes=3)
    # Class 0: one of its two boxes found, at the top score: precision 1 up to recall 0.5.
    assert result["per_class"][0]["map"] == pytest.approx(51 / 101)
    assert result["per_class"][2]["map"] == pytest.approx(1.0)


def test_a_false_positive_above_the_hit_halves_precision():
    ground_truth = [[(0, 10.0, 10.0, 20.0, 20.0)]]
    predictions = [[(0, 0.9, 60.0, 60.0, 20.0, 20.0), (0, 0.8, 10.0, 10.0, 20.0, 20.0)]]
    result = detection_map(predictions, ground_truth, num_classes=1)
    assert result["map"] == pytest.approx(0.5)


def test_no_ground_truth_at_all_scores_zero():
    result = detection_map([[(0, 0.9, 1.0, 1.0, 5.0, 5.0)]], [[]], num_classes=1)
    assert result == {"map": 0.0, "map50": 0.0, "per_class": {}}


def test_a_class_index_outside_the_class_list_is_refused():
    with pytest.raises(ValueError, match="class indices"):
        detection_map([[]], [[(3, 0.0, 0.0, 5.0, 5.0)]], num_classes=2)


def test_the_image_counts_must_agree():
    with pytest.raises(ValueError, match="images"):
        detection_map([[]], GROUND_TRUTH, num_classes=3)


def _random_case(seed: int, images: int = 30, classes: int = 3):
    rng = np.random.default_rng(seed)
    truth, found = [], []
    for _ in range(images):
        boxes = [
            (
                int(rng.integers(classes)),
                *map(float, rng.uniform(0, 80, 2)),
                *map(float, rng.uniform(4, 40, 2)),
            )
            for _ in range(int(rng.integers(0, 4)))
        ]
        truth.append(boxes)
        # Jittered copies of some boxes, some with the wrong class, and some strays.
        detections = [
            (c if rng.random() > 0.2 else int(rng.integers(classes)), float(rng.random()),
             x + float(rng.normal(0, 3)), y + float(rng.normal(0, 3)), w, h)
            for c, x, y, w, h in boxes
            if rng.random() > 0.25
        ] + [
            (int(rng.integers(classes)), float(rng.random()),
             *map(float, rng.uniform(0, 80, 2)), 10.0, 10.0)
            for _ in range(int(rng.integers(0, 3)))
        ]  # fmt: skip
        found.append(detections)
    return found, truth, classes


def _pycocotools_map(predictions, ground_truth, num_classes) -> tuple[float, float]:
    """The reference: pycocotools' own COCOeval on the same boxes."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt = COCO()
    gt.dataset = {
        "info": {},
        "images": [{"id": i} for i in range(1, len(ground_truth) + 1)],
        "categories": [{"id": c + 1} for c in range(num_classes)],
        "annotations": [
            {"id": n, "image_id": i, "category_id": c + 1, "bbox": [x, y, w, h],
             "area": w * h, "iscrowd": 0}
            for n, (i, (c, x, y, w, h)) in enumerate(
                ((i, b) for i, boxes in enumerate(ground_truth, start=1) for b in boxes), start=1
            )
        ],
    }  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        detections = gt.loadRes(
            [
                {"image_id": i, "category_id": c + 1, "score": s, "bbox": [x, y, w, h]}
                for i, found in enumerate(predictions, start=1)
                for c, s, x, y, w, h in found
            ]
        )
        evaluation = COCOeval(gt, detections, "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return float(evaluation.stats[0]), float(evaluation.stats[1])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_evaluator_agrees_with_pycocotools(seed):
    predictions, ground_truth, classes = _random_case(seed)
    result = detection_map(predictions, ground_truth, num_classes=classes)
    expected_map, expected_map50 = _pycocotools_map(predictions, ground_truth, classes)
    assert 0.0 < expected_map < expected_map50 < 1.0  # a case with hits, misses and strays
    assert result["map"] == pytest.approx(expected_map, abs=1e-6)
    assert result["map50"] == pytest.approx(expected_map50, abs=1e-6)
