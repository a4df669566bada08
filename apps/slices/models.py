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
    run can name exactly the rows it saw. Its row ids are held in its blocks (SnapshotBlock),
    read and written through snapshot_ids.py."""

    slice = models.ForeignKey(Slice, on_delete=models.CASCADE, related_name="snapshots")
    number = models.PositiveIntegerField()
    query = models.TextField(blank=True, help_text="the slice's query when it was taken")
    row_count = models.PositiveIntegerField()
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


class SnapshotBlock(models.Model):
    """A run of a snapshot's row ids, in order (id_blocks.py says how they are packed). A page
    after an id finds the block holding it through (snapshot, last_id); a job resuming at a
    position, through (snapshot, start)."""

    # Its unique constraints, both led by the snapshot, serve as the foreign key's index.
    snapshot = models.ForeignKey(
        SliceSnapshot, on_delete=models.CASCADE, related_name="blocks", db_index=False
    )
    start = models.PositiveBigIntegerField(help_text="the position of its first id")
    first_id = models.BigIntegerField()
    last_id = models.BigIntegerField()
    count = models.PositiveIntegerField()
    deltas = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["snapshot", "last_id"], name="snapshot_block_last_id_unique"
            ),
            models.UniqueConstraint(
                fields=["snapshot", "start"], name="snapshot_block_start_unique"
            ),
        ]

    def __str__(self) -> str:
        # Not its snapshot's name: a deletion's summary in the admin lists every block.
        return f"ids {self.first_id} to {self.last_id}"
