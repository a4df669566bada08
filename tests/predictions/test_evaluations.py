"""Evaluations through the API: a classifier's stored predictions judged against the digits'
labels (the figures held to those computed here from the stored rows), a detector's boxes
matched at IoU 0.5 with `tp` / `fp` / `fn` written on the objects (mAP held to the COCO
evaluator on the same boxes), a large evaluation as a job, and versions side by side."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context
from sklearn.metrics import f1_score

from apps.datasets.models import Annotation, DataRow, Dataset
from apps.predictions.coco_metrics import detection_map
from apps.predictions.models import Prediction, PredictionSource
from apps.predictions.writer import PredictedObject, replace_predictions
from apps.projects.models import Project
from apps.training.models import Model, ModelVersion
from tests.predictions.conftest import evaluate, inferred, wait_for_job
from tests.training.conftest import make_slice, started, wait_for_run


def _stored_tops(tenant, version_id: int) -> dict[int, tuple[str, str | None, int | None]]:
    with tenant_context(tenant):
        return {
            p.data_row_id: (p.class_name, p.eval, p.matched_annotation_id)
            for p in Prediction.objects.filter(model_version_id=version_id, rank=0)
        }


def _labels(tenant) -> dict[int, tuple[str, int]]:
    with tenant_context(tenant):
        return {
            a.data_row_id: (a.class_name, a.id)
            for a in Annotation.objects.filter(
                data_row__dataset__name="digits", geometry_type="none"
            )
        }


def test_a_classifier_is_judged_by_its_stored_top_predictions(
    tenant, gpu_worker, editor, viewer, all_digits
):
    # Every digit: a classifier this small gets some of them wrong.
    trained = wait_for_run(
        editor, started(editor, all_digits["id"], "logistic_regression", model="all")["id"]
    )
    version = trained["model_version"]
    run = inferred(editor, version, all_digits["id"])
    response = evaluate(editor, version, all_digits["id"], snapshot=run["snapshot"])
    assert response.status_code == 201, response.content
    evaluation = response.json()
    assert (evaluation["status"], evaluation["task"]) == ("succeeded", "classification")
    metrics = evaluation["metrics"]

    tops, labels = _stored_tops(tenant, version), _labels(tenant)
    truth = [labels[row][0] for row in sorted(tops)]
    predicted = [tops[row][0] for row in sorted(tops)]
    right = sum(t == p for t, p in zip(truth, predicted, strict=True))
    assert metrics["rows_evaluated"] == len(tops) == 1797
    assert metrics["accuracy"] == pytest.approx(right / 1797)
    assert 0.8 < metrics["accuracy"] < 1.0  # some wrong, so the loop has rows to learn from
    for row, (class_name, verdict, matched) in tops.items():
        hit = class_name == labels[row][0]
        assert (verdict, matched) == (("tp", labels[row][1]) if hit else ("fp", None))
    per_class = metrics["per_class"]
    assert sorted(per_class) == [str(d) for d in range(10)]
    expected_f1 = f1_score(truth, predicted, labels=sorted(per_class), average=None)
    assert [per_class[c]["f1"] for c in sorted(per_class)] == pytest.approx(list(expected_f1))
    matrix = metrics["confusion_matrix"]
    assert matrix["labels"] == sorted(per_class)
    assert sum(map(sum, matrix["matrix"])) == 1797
    assert sum(matrix["matrix"][i][i] for i in range(10)) == right

    # The verdicts are on the row's predictions for all to read, lower ranks unjudged.
    some_row = next(iter(tops))
    stored = viewer.get(f"/api/v1/rows/{some_row}/predictions/").json()
    assert stored[0]["eval"] in ("tp", "fp") and {p["eval"] for p in stored[1:]} == {None}
    assert viewer.get(f"/api/v1/evaluations/{evaluation['id']}/").json()["metrics"] == metrics


def test_a_large_evaluation_is_a_job_with_the_same_figures(
    tenant, editor, digits, digits_version, celery_worker, settings
):
    run = inferred(editor, digits_version["id"], digits["id"])
    at_once = evaluate(editor, digits_version["id"], digits["id"], snapshot=run["snapshot"])
    settings.EVALUATION_INLINE_ROWS = 100
    response = evaluate(editor, digits_version["id"], digits["id"], snapshot=run["snapshot"])
    assert response.status_code == 202 and response.json()["status"] == "queued"
    finished = wait_for_job(editor, "evaluations", response.json()["id"])
    assert finished["status"] == "succeeded", finished["error"]
    assert finished["metrics"] == at_once.json()["metrics"]


def test_versions_evaluated_on_one_snapshot_are_compared_side_by_side(
    editor, viewer, digits, digits_version
):
    run = started(editor, digits["id"], "random_forest", model="digits-lr", snapshot=1)
    run = wait_for_run(editor, run["id"])
    assert run["status"] == "succeeded", run["error"]
    figures = {}
    for version_id in (digits_version["id"], run["model_version"]):
        inferred(editor, version_id, digits["id"], snapshot=1)
        response = evaluate(editor, version_id, digits["id"], snapshot=1)
        figures[version_id] = response.json()["metrics"]

    compared = viewer.get(f"/api/v1/models/digits-lr/compare/?slice={digits['id']}&snapshot=1")
    assert compared.status_code == 200, compared.content
    body = compared.json()
    assert (body["model"], body["task"], body["snapshot"]) == ("digits-lr", "classification", 1)
    assert [(v["version"], v["spec"]) for v in body["versions"]] == [
        (1, "logistic_regression"),
        (2, "random_forest"),
    ]
    assert [v["metrics"] for v in body["versions"]] == list(figures.values())
    # Another snapshot of the slice has no evaluation yet: nothing to compare there.
    other = viewer.get(f"/api/v1/models/digits-lr/compare/?slice={digits['id']}&snapshot=2")
    assert other.json()["versions"] == []
    missing = viewer.get(f"/api/v1/models/digits-lr/compare/?slice={digits['id']}")
    assert missing.status_code == 400 and "snapshot" in missing.json()["fields"]


BOXES = {
    # (ground truth, predictions): boxes are (class, x, y, w, h); predictions add a score.
    "hit-and-stray": (
        [("square", 10, 10, 20, 20)],
        [("square", 0.9, 11, 10, 20, 20), ("circle", 0.8, 60, 60, 10, 10)],
    ),
    "missed": ([("circle", 5, 5, 30, 30)], []),
    "two-for-one": (
        [("square", 40, 40, 20, 20)],
        [("square", 0.7, 40, 40, 20, 20), ("square", 0.95, 42, 41, 20, 20)],
    ),
    "wrong-class": ([("square", 0, 0, 16, 16)], [("circle", 0.6, 0, 0, 16, 16)]),
}


@pytest.fixture
def detections(tenant, editor):
    """Four images with their boxes, and a detector's boxes on them (an external version's
    predictions, written as an import writes them)."""
    with tenant_context(tenant):
        project = Project.objects.create(name="shapes")
        dataset = Dataset.objects.create(project=project, name="boxes")
        model = Model.objects.create(name="detector", task="detection")
        version = ModelVersion.objects.create(model=model, version=1, spec="external")
        for name, (truths, found) in BOXES.items():
            row = DataRow.objects.create(
                dataset=dataset, external_id=name, media_uri=f"{name}.png", width=64, height=64
            )
            for class_name, x, y, w, h in truths:
                Annotation.objects.create(
                    data_row=row, class_name=class_name, geometry_type="bbox",
                    geometry={"x": x, "y": y, "w": w, "h": h},
                )  # fmt: skip
            replace_predictions(
                version_id=version.pk,
                row_ids=[row.id],
                objects=[
                    PredictedObject(row.id, c, score, rank, (x, y, w, h))
                    for rank, (c, score, x, y, w, h) in enumerate(found)
                ],
                source=PredictionSource.IMPORT,
            )
    slice = make_slice(editor, dataset.pk, "all boxes")
    return version.pk, slice


def _objects(tenant, version_id: int) -> dict[str, list[tuple]]:
    with tenant_context(tenant):
        found = Prediction.objects.filter(model_version_id=version_id).select_related("data_row")
        by_row: dict[str, list[tuple]] = {}
        for p in found.order_by("data_row_id", "-score", "id"):
            matched = p.matched_annotation.class_name if p.matched_annotation_id else None
            iou = None if p.iou is None else round(p.iou, 3)
            by_row.setdefault(p.data_row.external_id, []).append(
                (p.class_name, p.score, p.eval, iou, matched)
            )
        return by_row


def test_a_detector_is_judged_box_by_box_with_coco_map(tenant, editor, detections):
    version_id, slice = detections
    response = evaluate(editor, version_id, slice["id"])
    assert response.status_code == 201, response.content
    metrics = response.json()["metrics"]

    assert _objects(tenant, version_id) == {
        "hit-and-stray": [
            ("square", 0.9, "tp", round(19 * 20 / (21 * 20), 3), "square"),
            ("circle", 0.8, "fp", None, None),
        ],
        # A box nothing found: an fn marker in the version's layer, with no score.
        "missed": [("circle", None, "fn", None, "circle")],
        # The better-scored box takes the ground truth; the other, a duplicate, is fp.
        "two-for-one": [
            ("square", 0.95, "tp", round(18 * 19 / (800 - 18 * 19), 3), "square"),
            ("square", 0.7, "fp", 1.0, None),
        ],
        "wrong-class": [("square", None, "fn", None, "square"), ("circle", 0.6, "fp", None, None)],
    }
    assert (metrics["tp"], metrics["fp"], metrics["fn"]) == (2, 3, 2)
    classes = ["square", "circle"]
    expected = detection_map(
        [[(classes.index(c), s, x, y, w, h) for c, s, x, y, w, h in found]
         for _, found in BOXES.values()],
        [[(classes.index(c), x, y, w, h) for c, x, y, w, h in truths]
         for truths, _ in BOXES.values()],
        num_classes=2,
    )  # fmt: skip
    assert metrics["map"] == pytest.approx(expected["map"])
    assert metrics["map50"] == pytest.approx(expected["map50"])
    assert 0 < metrics["map"] < 1
    assert set(metrics["per_class"]) == {"square", "circle"}


def test_evaluating_again_leaves_one_marker_per_missed_box(tenant, editor, detections):
    version_id, slice = detections
    first = evaluate(editor, version_id, slice["id"]).json()
    again = evaluate(editor, version_id, slice["id"], snapshot=first["snapshot"]).json()
    assert again["metrics"] == first["metrics"]
    markers = [o for objects in _objects(tenant, version_id).values() for o in objects]
    assert sum(o[2] == "fn" for o in markers) == 2


def test_an_evaluation_of_an_unknown_version_is_refused(editor, digits):
    response = evaluate(editor, 999999, digits["id"])
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_model_version"
    assert editor.get("/api/v1/evaluations/").json()["results"] == []
