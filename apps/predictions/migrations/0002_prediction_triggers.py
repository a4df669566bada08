"""What the model cannot say: a row's predictions go with the row, and the matched annotation
goes to null with its annotation, in the database itself (datasets delete their rows, and
re-imports their annotations, with plain SQL); and the search outbox hears of every change
to a row's predictions, as it does of its annotations."""

from django.db import migrations

from search import triggers

# Django's own constraint on data_row_id, whatever it named it, replaced by one that cascades.
_ROW_FK = """
DO $$
DECLARE name text;
BEGIN
    SELECT c.conname INTO name FROM pg_constraint c
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
    WHERE c.conrelid = 'predictions_prediction'::regclass AND c.contype = 'f'
      AND a.attname = 'data_row_id';
    EXECUTE format('ALTER TABLE predictions_prediction DROP CONSTRAINT %I', name);
END
$$;
ALTER TABLE predictions_prediction ADD CONSTRAINT prediction_data_row_fk
    FOREIGN KEY (data_row_id) REFERENCES datasets_datarow (id)
    ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED
"""
_MATCHED_FK = (
    "ALTER TABLE predictions_prediction ADD CONSTRAINT prediction_matched_annotation_fk "
    "FOREIGN KEY (matched_annotation_id) REFERENCES datasets_annotation (id) "
    "ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED"
)


class Migration(migrations.Migration):
    dependencies = [
        ("predictions", "0001_initial"),
        ("search", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(_ROW_FK, reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL(
            _MATCHED_FK,
            reverse_sql=(
                "ALTER TABLE predictions_prediction DROP CONSTRAINT prediction_matched_annotation_fk"
            ),
        ),
        migrations.RunSQL(
            triggers.create_triggers(triggers.PREDICTION_TABLES),
            reverse_sql=triggers.drop_triggers(triggers.PREDICTION_TABLES),
        ),
    ]
