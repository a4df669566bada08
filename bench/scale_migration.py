"""A new migration over every tenant: the scale bench writes a throwaway tenant app (one
model, a table with a foreign key to the data rows and an index) to a temporary folder,
has Django write its migration (`makemigrations`), applies it to every tenant schema and
the template with `migrate_schemas --executor=multiprocessing` (django-tenants' parallel
executor), and migrates it back to zero. Each command runs as operators run it, in a
process of its own under bench/scale_settings.py; the same migrate again once every schema
has the migration is the baseline (the command's start-up and its look at every schema).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

APP = "scalebench_notes"

_MODELS = '''"""A note on a data row: the scale bench's throwaway model."""

from django.db import models


class RowNote(models.Model):
    data_row = models.ForeignKey("datasets.DataRow", on_delete=models.CASCADE)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"])]
'''


def run_migration(*, tenants: int) -> None:
    """Prints the seconds of the forward migrate (and per tenant), the back one and the
    no-op baseline; the temporary app is gone afterwards."""
    with tempfile.TemporaryDirectory(prefix="scale-app-") as folder:
        app = Path(folder) / APP
        (app / "migrations").mkdir(parents=True)
        (app / "__init__.py").write_text("")
        (app / "migrations" / "__init__.py").write_text("")
        (app / "models.py").write_text(_MODELS)
        manage(folder, "makemigrations", APP)
        # Applied to every schema, and migrated back before the folder goes, even after a
        # failure part way: a tenant left holding the table would keep it.
        try:
            forward = manage(
                folder, "migrate_schemas", "--tenant", "--executor=multiprocessing", APP
            )
            applied = schemas_holding_the_table()
            noop = manage(  # the same command again: every schema has it already
                folder, "migrate_schemas", "--tenant", "--executor=multiprocessing", APP
            )
        finally:
            back = manage(
                folder, "migrate_schemas", "--tenant", "--executor=multiprocessing", APP, "zero"
            )
    schemas = tenants + 1  # and the template
    assert applied == schemas, f"the table is in {applied} of {schemas} schemas"
    assert schemas_holding_the_table() == 0, "migrating back to zero left the table"
    print(
        f"  migrate_schemas --executor=multiprocessing, a new migration (CreateModel: table, "
        f"foreign key, index) over {schemas:,} schemas: {forward:.1f} s "
        f"({forward / schemas * 1000:.0f} ms a schema); the same command again, nothing left "
        f"to migrate (the baseline): {noop:.1f} s; back to zero {back:.1f} s"
    )


def schemas_holding_the_table() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_class WHERE relname = %s AND relkind = 'r'",
            [f"{APP}_rownote"],
        )
        return cursor.fetchone()[0]


def manage(folder: str, *command: str) -> float:
    """Seconds `manage.py <command>` took with the bench's settings and the app's folder on
    the path; raises with its output when it fails."""
    from tests.support.processes import ROOT, process_env

    env = process_env()
    env["PYTHONPATH"] = f"{env['PYTHONPATH']}:{folder}"
    env["DJANGO_SETTINGS_MODULE"] = "bench.scale_settings"
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", *command, "--verbosity", "0", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started
