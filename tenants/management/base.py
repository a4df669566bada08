"""The base of every command that works on the platform's tables: it checks first that the
database answers and is migrated, so a newcomer who runs one too early reads what to do
rather than a traceback."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

FIRST = "run `make run` (or `manage.py migrate_schemas`) first"


def require_migrated_database() -> None:
    """Raises CommandError when the primary cannot be reached or has migrations to apply."""
    connection = connections["default"]
    try:
        executor = MigrationExecutor(connection)
        unapplied = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CommandError(
            f"the database cannot be reached ({reason}): start it with `make services`, "
            "or set DATABASE_URL"
        ) from exc
    if unapplied:
        raise CommandError(
            f"the database is not migrated ({len(unapplied)} migrations to apply): {FIRST}"
        )


class MigratedDatabaseCommand(BaseCommand):
    def execute(self, *args, **options):
        require_migrated_database()
        return super().execute(*args, **options)
