"""A snapshot's row ids move from one blob (`row_ids`: sorted, delta-encoded int64, zlib) to
blocks of 1,024 ids each (SnapshotBlock), so that a page decodes the block or two it shows;
the blob goes. Backwards, the blocks are joined into the blob again.

The codec is copied here as it stands for this migration (apps/slices/id_blocks.py): should
the block format change, its own migration reads what this one wrote.
"""

import zlib

import django.db.models.deletion
import numpy as np
from django.db import migrations, models

BLOCK_IDS = 1024
_WIDTHS = {1: "<u1", 2: "<u2", 4: "<u4", 8: "<u8"}


def _blocks_of(ids):
    for start in range(0, len(ids), BLOCK_IDS):
        chunk = ids[start : start + BLOCK_IDS]
        gaps = np.diff(chunk)
        largest = int(gaps.max()) if len(gaps) else 0
        width = next((w for w in (1, 2, 4) if largest < 1 << (8 * w)), 8)
        packed = zlib.compress(gaps.astype(_WIDTHS[width]).tobytes())
        yield start, int(chunk[0]), int(chunk[-1]), len(chunk), packed


def _ids_of(first_id, count, deltas):
    ids = np.full(count, first_id, dtype=np.int64)
    if count > 1:
        packed = zlib.decompress(deltas)
        gaps = np.frombuffer(packed, dtype=_WIDTHS[len(packed) // (count - 1)])
        ids[1:] += np.cumsum(gaps, dtype=np.int64)
    return ids


def blob_to_blocks(apps, schema_editor):
    snapshots = apps.get_model("slices", "SliceSnapshot").objects
    blocks = apps.get_model("slices", "SnapshotBlock").objects
    for pk in snapshots.order_by("pk").values_list("pk", flat=True):
        blob = snapshots.values_list("row_ids", flat=True).get(pk=pk)
        ids = np.cumsum(np.frombuffer(zlib.decompress(bytes(blob)), dtype=np.int64))
        blocks.bulk_create(
            [
                blocks.model(
                    snapshot_id=pk, start=start, first_id=first, last_id=last, count=count,
                    deltas=deltas,
                )
                for start, first, last, count, deltas in _blocks_of(ids)
            ],
            batch_size=1000,
        )  # fmt: skip


def blocks_to_blob(apps, schema_editor):
    snapshots = apps.get_model("slices", "SliceSnapshot").objects
    blocks = apps.get_model("slices", "SnapshotBlock").objects
    for pk in snapshots.order_by("pk").values_list("pk", flat=True):
        rows = blocks.filter(snapshot_id=pk).order_by("start")
        parts = [_ids_of(*row) for row in rows.values_list("first_id", "count", "deltas")]
        ids = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
        blob = zlib.compress(np.diff(ids, prepend=0).astype(np.int64).tobytes(), 6)
        snapshots.filter(pk=pk).update(row_ids=blob)


class Migration(migrations.Migration):
    dependencies = [
        ("slices", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="SnapshotBlock",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("start", models.PositiveBigIntegerField(help_text="the position of its first id")),
                ("first_id", models.BigIntegerField()),
                ("last_id", models.BigIntegerField()),
                ("count", models.PositiveIntegerField()),
                ("deltas", models.BinaryField()),
                (
                    "snapshot",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="blocks",
                        to="slices.slicesnapshot",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("snapshot", "last_id"), name="snapshot_block_last_id_unique"
                    ),
                    models.UniqueConstraint(
                        fields=("snapshot", "start"), name="snapshot_block_start_unique"
                    ),
                ],
            },
        ),
        # Nullable before it goes, so that backwards it comes back empty and is filled.
        migrations.AlterField(
            model_name="slicesnapshot", name="row_ids", field=models.BinaryField(null=True)
        ),
        migrations.RunPython(blob_to_blocks, blocks_to_blob),
        migrations.RemoveField(model_name="slicesnapshot", name="row_ids"),
    ]
