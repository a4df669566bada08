"""Tenant schemas: each a copy of the migrated template schema (TENANT_BASE_SCHEMA).

The copy is built from the template's own catalog entries, looked up by its namespace, so it
takes as long with a thousand tenants in the database as with one. (django-tenants'
clone_schema function scans information_schema across every schema, several times a table:
with 300 tenants one clone took a minute.) It keeps every name the migrations gave: tables,
columns, constraints, indexes, triggers and views, and copies the template's rows: its
migration records and content types, so the copy stands migrated as the template does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.conf import settings
from django.db import connection, transaction

# The advisory lock a migrate of the template holds, and each copy shares.
_TEMPLATE_LOCK = 0x4C4F5550_54504C  # "LOUPTPL"

# Each query reads the template's namespace alone (%(ns)s::oid). They run with the template
# alone on the search path, so that the definitions name its objects unqualified (and all
# else, such as public's functions and users table, qualified).
_TABLES = """
    SELECT relname FROM pg_class
    WHERE relnamespace = %(ns)s::oid AND relkind = 'r' ORDER BY oid"""
# Primary keys, unique and exclusion constraints (with their indexes), or foreign keys.
_CONSTRAINTS = """
    SELECT format('ALTER TABLE %%I ADD CONSTRAINT %%I %%s', t.relname, c.conname,
                  pg_get_constraintdef(c.oid))
    FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
    WHERE t.relnamespace = %(ns)s::oid AND c.contype::text = ANY(%(types)s::text[])
    ORDER BY c.oid"""
# pg_get_indexdef and pg_get_triggerdef qualify the table whatever the search path: each
# comes with the ` ON <template>.<table> ` it holds and what takes its place (_retargeted).
_ON = """format(' ON %%I.%%I ', %(template)s::text, t.relname),
         format(' ON %%I.%%I ', %(schema)s::text, t.relname)"""
_INDEXES = f"""
    SELECT pg_get_indexdef(i.indexrelid), {_ON}
    FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
    WHERE t.relnamespace = %(ns)s::oid AND NOT EXISTS (
        SELECT FROM pg_constraint c
        WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid
          AND c.contype IN ('p', 'u', 'x'))
    ORDER BY i.indexrelid"""
_TRIGGERS = f"""
    SELECT pg_get_triggerdef(g.oid), {_ON}
    FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid
    WHERE t.relnamespace = %(ns)s::oid AND NOT g.tgisinternal ORDER BY g.oid"""
_VIEWS = """
    SELECT format('CREATE VIEW %%I AS %%s', relname, pg_get_viewdef(oid)) FROM pg_class
    WHERE relnamespace = %(ns)s::oid AND relkind = 'v' ORDER BY oid"""
# The template's rows, every column but the generated ones; then each identity column's
# sequence moved to the largest id copied.
_ROW_COPIES = """
    SELECT format('INSERT INTO %%I (%%s) OVERRIDING SYSTEM VALUE SELECT %%s FROM %%I.%%I',
                  t.relname, columns, columns, %(template)s::text, t.relname)
    FROM pg_class t CROSS JOIN LATERAL (
        SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) AS columns
        FROM pg_attribute a
        WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
          AND a.attgenerated = ''
    ) copied
    WHERE t.relnamespace = %(ns)s::oid AND t.relkind = 'r' ORDER BY t.oid"""
_SEQUENCE_MOVES = """
    SELECT format('SELECT setval(pg_get_serial_sequence(%%L, %%L), max(%%I)) FROM %%I '
                  'HAVING max(%%I) IS NOT NULL',
                  format('%%I.%%I', %(schema)s::text, t.relname), a.attname, a.attname,
                  t.relname, a.attname)
    FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid
    WHERE t.relnamespace = %(ns)s::oid AND t.relkind = 'r' AND a.attidentity <> ''
    ORDER BY t.oid"""


def clone_template(schema_name: str) -> None:
    """Create `schema_name` as a copy of the template, all or nothing (in a transaction of its
    own, or a savepoint of the caller's). A migrate of the template waits for the copies being
    made, and they for it (template_lock)."""
    template = settings.TENANT_BASE_SCHEMA
    connection.set_schema_to_public()
    with transaction.atomic(using="default"), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [_TEMPLATE_LOCK])
        cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [template])
        found = cursor.fetchone()
        if found is None:
            raise RuntimeError(f"no template schema {template!r}: run migrate_schemas first")
        names = {"ns": found[0], "template": template, "schema": schema_name}
        # Local to the transaction (or savepoint), so a failure leaves the path as it was.
        cursor.execute("SELECT set_config('search_path', quote_ident(%s), true)", [template])
        tables = _read(cursor, _TABLES, names)
        keys = _read(cursor, _CONSTRAINTS, names | {"types": ["p", "u", "x"]})
        copies, moves = _read(cursor, _ROW_COPIES, names), _read(cursor, _SEQUENCE_MOVES, names)
        indexes = _retargeted(cursor, _INDEXES, names)
        foreign_keys = _read(cursor, _CONSTRAINTS, names | {"types": ["f"]})
        views, triggers = _read(cursor, _VIEWS, names), _retargeted(cursor, _TRIGGERS, names)
        cursor.execute("SELECT format('CREATE SCHEMA %%I', %s::text)", [schema_name])
        cursor.execute(cursor.fetchone()[0])
        cursor.execute(
            "SELECT set_config('search_path', format('%%I, public', %s::text), true)",
            [schema_name],
        )
        for table in tables:
            cursor.execute(
                "SELECT format('CREATE TABLE %%I (LIKE %%I.%%I INCLUDING ALL EXCLUDING INDEXES)',"
                " %s::text, %s::text, %s::text)",
                [table, template, table],
            )
            cursor.execute(cursor.fetchone()[0])
        # The rows first, as pg_dump does: no trigger fires on them.
        for statement in [*keys, *copies, *moves, *indexes, *foreign_keys, *views, *triggers]:
            cursor.execute(statement)
    connection.set_schema_to_public()  # django-tenants sets the search path afresh


@contextlib.contextmanager
def template_lock() -> Iterator[None]:
    """Held by a migrate of the template: no copy is made of a template half migrated."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [_TEMPLATE_LOCK])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_TEMPLATE_LOCK])


def _read(cursor, query: str, names: dict) -> list[str]:
    cursor.execute(query, names)
    return [row[0] for row in cursor.fetchall()]


def _retargeted(cursor, query: str, names: dict) -> list[str]:
    """Definitions naming the template's table once, made to name the new schema's."""
    cursor.execute(query, names)
    return [definition.replace(old, new, 1) for definition, old, new in cursor.fetchall()]
