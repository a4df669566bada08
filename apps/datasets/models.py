"""Datasets, their data rows and annotations, and the jobs that import them."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models

from apps.datasets.geometry import AnnotationArea
from apps.datasets.importers.records import AnnotationSource, GeometryType
from apps.projects.models import Project


class Dataset(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "name"], name="dataset_name_unique_in_project"
            )
        ]

    def __str__(self) -> str:
        return self.name


class DataRow(models.Model):
    """One image and what is known about it. `external_id` is the client's own key."""

    # No index of its own: datarow_dataset_id_idx (and the external_id constraint's) lead with it.
    dataset = models.ForeignKey(
        Dataset, on_delete=models.CASCADE, related_name="rows", db_index=False
    )
    external_id = models.CharField(max_length=255)
    media_uri = models.TextField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    tags = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    # A digest of the row and its annotations as last imported: an import that brings the
    # same content again leaves the row untouched.
    content_hash = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "external_id"], name="datarow_external_id_unique_in_dataset"
            )
        ]
        indexes = [
            GinIndex(
                fields=["metadata"], name="datarow_metadata_gin", opclasses=["jsonb_path_ops"]
            ),
            GinIndex(fields=["tags"], name="datarow_tags_gin"),
            # A dataset's rows in id order: its pages, and a slice's search and snapshot, read
            # as a range of this index, however its ids interleave with other datasets'.
            models.Index(fields=["dataset", "id"], name="datarow_dataset_id_idx"),
        ]

    def __str__(self) -> str:
        return self.external_id


class Annotation(models.Model):
    data_row = models.ForeignKey(DataRow, on_delete=models.CASCADE, related_name="annotations")
    class_name = models.CharField(max_length=200)
    geometry_type = models.CharField(
        max_length=16, choices=[(g.value, g.value) for g in GeometryType]
    )
    geometry = models.JSONField(null=True, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    source = models.CharField(
        max_length=8,
        choices=[(s.value, s.value) for s in AnnotationSource],
        default=AnnotationSource.HUMAN,
    )
    # In px², computed by Postgres from the geometry (see geometry.py); None for "none".
    area = models.GeneratedField(
        expression=AnnotationArea("geometry_type", "geometry"),
        output_field=models.FloatField(),
        db_persist=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["class_name"], name="annotation_class_idx")]

    def __str__(self) -> str:
        return f"{self.class_name} on {self.data_row_id}"


class ImportFormat(models.TextChoices):
    JSONL = "jsonl"
    CSV = "csv"
    COCO = "coco"
    ZIP = "zip"


class ImportStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIALLY_FAILED = "partially_failed"
    FAILED = "failed"


class ImportJob(models.Model):
    """One import of one file into one dataset. Counters and `records_done` are committed
    with each batch, so a job whose worker died resumes where it stopped."""

    MAX_ERRORS = 1000

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="imports")
    format = models.CharField(max_length=8, choices=ImportFormat.choices)
    status = models.CharField(
        max_length=20, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    source_uri = models.TextField(blank=True)
    # Where the file is: a storage name (uploads, deleted once the job ends), a path under
    # IMPORT_ROOT or an s3:// object's URI (the sources of import_sources.py).
    file_name = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        related_name="+",
    )
    records_done = models.PositiveBigIntegerField(default=0)
    created = models.PositiveBigIntegerField(default=0)
    updated = models.PositiveBigIntegerField(default=0)
    unchanged = models.PositiveBigIntegerField(default=0)
    failed = models.PositiveBigIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    detail = models.TextField(blank=True, help_text="why the whole file was refused, if it was")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the broker took the job's task, or the job was made by what runs it (null: not
    # yet sent; the job sweep sends it).
    sent_at = models.DateTimeField(null=True, blank=True)
    # Why a queued job waits, when a worker took it and left it queued (its tenant's limit).
    waiting_for = models.TextField(blank=True)
    # Written by the runner's heartbeat thread (apps/jobs): a stale one, with the job's
    # lease free, tells the job sweep its worker was lost.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="workers that took the job")
    # E-mail the submitter when the job ends (apps/jobs/mail.py).
    notify = models.BooleanField(default=False)
    # The last of its stored events (apps/jobs/events.py), numbered from 1 with no gap.
    event_seq = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["dataset", "created_at"], name="import_dataset_idx")]

    def __str__(self) -> str:
        return f"import {self.pk} ({self.format}, {self.status})"

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.failed
