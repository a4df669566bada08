"""Tenant schemas: each a copy of the migrated template schema (TENANT_BASE_SCHEMA)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django_tenants.clone import CloneSchema

_CLONE_FUNCTION = "public.clone_schema(text, text, cloneparms[])"


def install_clone_function() -> None:
    """(Re)install django-tenants' clone_schema function; every migrate of the template does,
    so the database's copy matches the installed django-tenants."""
    CloneSchema()._create_clone_schema_function()


def clone_template(schema_name: str) -> None:
    """Create `schema_name` as a copy of the template: its tables, indexes, views and rows.

    The rows include the template's migration records, content types and permissions, so
    the copy stands migrated as the template does. (django-tenants' create_schema would
    recreate the clone function first and then run `migrate_schemas --fake` over the copy,
    which records nothing more: together over 40% of a provisioning.)
    """
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regprocedure(%s)", [_CLONE_FUNCTION])
        if cursor.fetchone()[0] is None:  # a database migrated before the template kept it
            install_clone_function()
        cursor.execute(
            "SELECT clone_schema(%s, %s, 'DATA')", [settings.TENANT_BASE_SCHEMA, schema_name]
        )
