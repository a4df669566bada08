"""Predictions, a layer beside human annotations, and the jobs that write and judge them.

A predicted object is one table row: one box, or one class of a whole-image prediction (the
top classes of a classification each get one, ranked). Rows of a model version are indexed by
(version, row) for a row's predictions and a chunk's replacement, and by (version, class,
score) for `prediction(model = ... AND score < x)`.
"""

from django.db import models

from apps.datasets.geometry import AnnotationArea
from apps.datasets.models import Annotation, DataRow, Dataset
from apps.jobs.models import Job
from apps.slices.models import Slice, SliceSnapshot
from apps.training.models import ModelVersion

# The kinds of the jobs here among all jobs (apps/jobs/kinds.py).
INFERENCE_KIND = "inference_run"
EVALUATION_KIND = "evaluation"
PREDICTION_IMPORT_KIND = "prediction_import"


class Verdict(models.TextChoices):
    """An evaluated object: a true positive, a false positive, or (a marker written by the
    evaluation for a ground-truth box no prediction matched) a false negative."""

    TP = "tp"
    FP = "fp"
    FN = "fn"


class PredictionSource(models.TextChoices):
    INFERENCE = "inference"  # written by an inference run
    IMPORT = "import"  # brought from a file of the model's own predictions
    EVALUATION = "evaluation"  # an `fn` marker


class Prediction(models.Model):
    data_row = models.ForeignKey(DataRow, on_delete=models.CASCADE, related_name="predictions")
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="predictions", db_index=False
    )
    class_name = models.CharField(max_length=200)
    score = models.FloatField(null=True, blank=True, help_text="none for an fn marker")
    # The place among the row's predictions of this version, best first (0 is the top).
    rank = models.PositiveSmallIntegerField(null=True, blank=True)
    geometry_type = models.CharField(max_length=16, default="none")
    geometry = models.JSONField(null=True, blank=True)
    area = models.GeneratedField(
        expression=AnnotationArea("geometry_type", "geometry"),
        output_field=models.FloatField(),
        db_persist=True,
    )
    source = models.CharField(
        max_length=12, choices=PredictionSource.choices, default=PredictionSource.INFERENCE
    )
    eval = models.CharField(max_length=2, choices=Verdict.choices, null=True, blank=True)
    iou = models.FloatField(null=True, blank=True)
    # The database sets this to null when the annotation goes (a re-import replaces a row's
    # annotations with plain SQL): see migration 0002.
    matched_annotation = models.ForeignKey(
        Annotation,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["model_version", "data_row"], name="prediction_version_row_idx"),
            models.Index(
                fields=["model_version", "class_name", "score"], name="prediction_score_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.class_name} {self.score} on {self.data_row_id}"


class InferenceRun(Job):
    """One pass of one model version over the rows of one frozen snapshot, a chunk of rows at
    a time. `rows_done` commits with each chunk's predictions: where a resumed run starts."""

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="inference_runs"
    )
    slice = models.ForeignKey(Slice, on_delete=models.PROTECT, related_name="inference_runs")
    snapshot = models.ForeignKey(
        SliceSnapshot, on_delete=models.PROTECT, related_name="inference_runs"
    )
    chunk_size = models.PositiveIntegerField()
    batch_size = models.PositiveIntegerField()
    device = models.CharField(max_length=32, blank=True)
    rows_total = models.PositiveBigIntegerField(default=0)
    rows_done = models.PositiveBigIntegerField(default=0)
    rows_skipped = models.PositiveBigIntegerField(default=0)
    predictions_written = models.PositiveBigIntegerField(default=0)
    notify = models.BooleanField(default=False, help_text="e-mail the submitter at the end")

    class Meta:
        indexes = [models.Index(fields=["created_at", "id"], name="inferencerun_created_idx")]

    def __str__(self) -> str:
        return f"inference {self.pk} ({self.model_version}, {self.status})"


class Evaluation(Job):
    """A model version's predictions on the rows of a snapshot, judged against the rows'
    human annotations. The verdicts (`eval`, `iou`, the matched annotation) are written on
    the predicted objects; the figures are kept here."""

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="evaluations"
    )
    slice = models.ForeignKey(Slice, on_delete=models.PROTECT, related_name="evaluations")
    snapshot = models.ForeignKey(
        SliceSnapshot, on_delete=models.PROTECT, related_name="evaluations"
    )
    task = models.CharField(max_length=32)
    rows_total = models.PositiveBigIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    notify = models.BooleanField(default=False, help_text="e-mail the submitter at the end")

    class Meta:
        indexes = [
            models.Index(fields=["model_version", "snapshot"], name="evaluation_version_idx")
        ]

    def __str__(self) -> str:
        return f"evaluation {self.pk} ({self.model_version}, {self.status})"


class PredictionFileFormat(models.TextChoices):
    COCO = "coco"  # the COCO results format: [{image_id, category_id, bbox, score}]
    JSONL = "jsonl"


class PredictionImport(Job):
    """One file of a model's own predictions brought into one dataset, under a model version.
    Counters commit with each batch, as an import's do."""

    MAX_ERRORS = 1000

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="prediction_imports"
    )
    format = models.CharField(max_length=8, choices=PredictionFileFormat.choices)
    file_name = models.TextField(help_text="the uploaded file's storage name")
    # COCO results name classes by category id: the [{id, name}] they were numbered by.
    categories = models.JSONField(default=list, blank=True)
    records_done = models.PositiveBigIntegerField(default=0)
    rows_matched = models.PositiveBigIntegerField(default=0)
    predictions_written = models.PositiveBigIntegerField(default=0)
    failed = models.PositiveBigIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    detail = models.TextField(blank=True, help_text="why the whole file was refused, if it was")

    def __str__(self) -> str:
        return f"prediction import {self.pk} ({self.format}, {self.status})"
