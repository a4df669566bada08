"""`migrate` is `migrate_schemas`, template included (see migrate_schemas.py)."""

from tenants.management.commands.migrate_schemas import Command  # noqa: F401
