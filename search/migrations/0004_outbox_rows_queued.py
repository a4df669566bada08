"""The outbox trigger lets a writer that has queued its rows already say so
(search/triggers.py, ROWS_QUEUED): an import's annotations no longer queue their rows a
second time. The function is in public, shared by every schema; going back leaves it, as it
acts as before for every writer that does not say so."""

from django.db import migrations

from search import triggers


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0003_outbox_row_index"),
    ]

    operations = [
        migrations.RunSQL(triggers.CREATE_FUNCTION, reverse_sql=migrations.RunSQL.noop),
    ]
