"""Training runs, their per-epoch metrics, and the model registry (models and versions)."""

from django.db import models

from apps.jobs.models import Job
from apps.slices.models import Slice, SliceSnapshot

# A training run's kind among jobs (apps/jobs/kinds.py): its events and lease carry it.
KIND = "training_run"


class TrainingRun(Job):
    """One training of one spec on the rows of one frozen snapshot.

    The split, the class list and the resume state (epoch, position inside it, batch size,
    checkpoints) are stored here, so a run resumed on another worker carries on exactly."""

    name = models.CharField(max_length=200)
    spec = models.CharField(max_length=64)
    hyperparameters = models.JSONField(default=dict)
    slice = models.ForeignKey(Slice, on_delete=models.PROTECT, related_name="training_runs")
    snapshot = models.ForeignKey(
        SliceSnapshot, on_delete=models.PROTECT, related_name="training_runs"
    )
    model_name = models.CharField(max_length=200)
    experiment = models.CharField(max_length=200, blank=True)
    parent_version = models.ForeignKey(
        "ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    notify = models.BooleanField(default=False)
    # Fixed when the run first starts.
    classes = models.JSONField(default=list, blank=True)
    split = models.JSONField(default=dict, blank=True)
    train_row_ids = models.BinaryField(null=True, blank=True)
    validation_row_ids = models.BinaryField(null=True, blank=True)
    device = models.CharField(max_length=32, blank=True)
    # Progress: epochs finished, samples done in the current one, the batch size in use.
    epoch = models.PositiveIntegerField(default=0)
    position = models.PositiveBigIntegerField(default=0)
    batch_size = models.PositiveIntegerField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    checkpoint = models.TextField(blank=True, help_text="storage name of the last checkpoint")
    best_checkpoint = models.TextField(blank=True)
    best_score = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["created_at", "id"], name="trainingrun_created_idx"),
            models.Index(fields=["status", "created_at"], name="trainingrun_status_idx"),
            models.Index(fields=["experiment", "id"], name="trainingrun_experiment_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.spec}, {self.status})"

    @property
    def epochs(self) -> int | None:
        return self.hyperparameters.get("epochs")


class EpochMetric(models.Model):
    """A run's metrics at the end of one epoch: one row per epoch, whatever resumed."""

    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="epoch_metrics")
    epoch = models.PositiveIntegerField()
    metrics = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "epoch"], name="epoch_metric_unique")]

    def __str__(self) -> str:
        return f"run {self.run_id} epoch {self.epoch}"


class Model(models.Model):
    name = models.CharField(max_length=200, unique=True)
    task = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class ModelVersion(models.Model):
    """A trained model, numbered 1, 2, 3, ... within its model; its artifact in storage."""

    model = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    spec = models.CharField(max_length=64)
    classes = models.JSONField(default=list)
    hyperparameters = models.JSONField(default=dict)
    metrics = models.JSONField(default=dict)
    training_run = models.OneToOneField(
        TrainingRun, null=True, on_delete=models.SET_NULL, related_name="model_version"
    )
    snapshot = models.ForeignKey(
        SliceSnapshot, null=True, on_delete=models.PROTECT, related_name="model_versions"
    )
    artifact = models.TextField(help_text="storage name of the trained model")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "version"], name="model_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.model} v{self.version}"
