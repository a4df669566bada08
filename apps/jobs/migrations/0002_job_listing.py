"""The jobs listing: one view over every kind's table (apps/jobs/kinds.py).

Postgres refuses to change or drop a column a view reads, so a migration that alters one
of the columns below drops this view first and creates it again after.
"""

from django.conf import settings
from django.db import migrations, models

CREATE_VIEW = """
CREATE VIEW jobs_joblisting AS
SELECT 'import:' || id AS key, 'import' AS kind, id AS job_id, status,
       records_done::bigint AS done,
       CASE WHEN finished_at IS NULL THEN NULL ELSE records_done::bigint END AS total,
       'records' AS unit, detail AS error, created_by_id, created_at, started_at, finished_at
  FROM datasets_importjob
UNION ALL
SELECT 'training_run:' || id, 'training_run', id, status, epoch::bigint,
       (hyperparameters ->> 'epochs')::bigint, 'epochs', error, created_by_id, created_at,
       started_at, finished_at
  FROM training_trainingrun
UNION ALL
SELECT 'inference_run:' || id, 'inference_run', id, status, rows_done::bigint,
       NULLIF(rows_total, 0)::bigint, 'rows', error, created_by_id, created_at, started_at,
       finished_at
  FROM predictions_inferencerun
UNION ALL
SELECT 'evaluation:' || id, 'evaluation', id, status,
       CASE WHEN status = 'succeeded' THEN rows_total ELSE 0 END::bigint,
       NULLIF(rows_total, 0)::bigint, 'rows', error, created_by_id, created_at, started_at,
       finished_at
  FROM predictions_evaluation
UNION ALL
SELECT 'prediction_import:' || id, 'prediction_import', id, status, records_done::bigint,
       CASE WHEN finished_at IS NULL THEN NULL ELSE records_done::bigint END, 'records',
       error, created_by_id, created_at, started_at, finished_at
  FROM predictions_predictionimport
"""


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0001_initial"),
        ("datasets", "0006_importjob_waiting_for"),
        ("training", "0003_job_waiting_for"),
        ("predictions", "0004_job_waiting_for"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunSQL(CREATE_VIEW, "DROP VIEW jobs_joblisting"),
        migrations.CreateModel(
            name="JobListing",
            fields=[
                ("key", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("kind", models.CharField(max_length=32)),
                ("job_id", models.BigIntegerField()),
                ("status", models.CharField(max_length=20)),
                ("done", models.BigIntegerField()),
                ("total", models.BigIntegerField(null=True)),
                ("unit", models.CharField(max_length=16)),
                ("error", models.TextField()),
                (
                    "created_by",
                    models.ForeignKey(
                        db_constraint=False,
                        null=True,
                        on_delete=models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("created_at", models.DateTimeField()),
                ("started_at", models.DateTimeField(null=True)),
                ("finished_at", models.DateTimeField(null=True)),
            ],
            options={"db_table": "jobs_joblisting", "managed": False},
        ),
    ]
