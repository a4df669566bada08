"""An index of each dataset's rows in id order. Built concurrently: a tenant with millions of
rows keeps importing while it is built."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("datasets", "0008_importjob_event_seq"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="datarow",
            index=models.Index(fields=["dataset", "id"], name="datarow_dataset_id_idx"),
        ),
    ]
