"""Slices (saved queries over a dataset) and their snapshots (frozen lists of rows)."""

from django.conf import settings
from django.db import models

from apps.datasets.models import Dataset


class Slice(models.Model):
    """A live slice: its rows are whatever its query matches in its dataset now."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="slices")
    name = models.CharField(max_length=200)
    query = models.TextField(blank=True, help_text="in the query language; blank: every row")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "name"], name="slice_name_unique_in_dataset")
        ]
        indexes = [models.Index(fields=["created_at", "id"], name="slice_created_idx")]

    def __str__(self) -> str:
        return self.name


class SliceSnapshot(models.Model):
    """The rows a slice matched at one moment, numbered 1, 2, ... per slice, so a training
    run can name exactly the rows it saw. `row_ids` holds them compactly (see row_ids.py)."""

    slice = models.ForeignKey(Slice, on_delete=models.CASCADE, related_name="snapshots")
    number = models.PositiveIntegerField()
    query = models.TextField(blank=True, help_text="the slice's query when it was taken")
    row_count = models.PositiveIntegerField()
    row_ids = models.BinaryField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["slice", "number"], name="snapshot_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.slice} #{self.number}"
