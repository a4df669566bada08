"""The Postgres triggers that fill the outbox: one statement-level trigger per table and
operation, whose transition table holds every changed row, so a COPY of 50,000 rows costs
one INSERT ... SELECT rather than 50,000 trigger calls.

The function lives in public and writes into the schema of the table that fired it, so the
triggers survive the cloning of the template schema into each new tenant. Each schema's
migration replaces it, in turn with the others (tenants/public_ddl.py).
"""

from tenants.public_ddl import one_schema_at_a_time

FUNCTION = "public.loupe_search_outbox"

# A writer that has queued the rows it writes already, in its transaction, sets this for the
# statements after (an import's batch, for its rows' annotations: copy_writer.py): they queue
# nothing more, and each row is queued once.
ROWS_QUEUED = "loupe.outbox_rows_queued"

CREATE_FUNCTION = one_schema_at_a_time(f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('{ROWS_QUEUED}', true) = 'on' THEN
        RETURN NULL;
    END IF;
    EXECUTE format(
        'INSERT INTO %I.search_outbox (data_row_id, created_at) '
        'SELECT DISTINCT %I, now() FROM changed',
        TG_TABLE_SCHEMA, TG_ARGV[0]
    );
    RETURN NULL;
END
$$
""")

# (table, the column holding the data row id): the datasets' tables (search's migration 0001)
# and the predictions' (apps/predictions' migration 0002, which comes after the table).
ROW_TABLES = (("datasets_datarow", "id"), ("datasets_annotation", "data_row_id"))
PREDICTION_TABLES = (("predictions_prediction", "data_row_id"),)
_OPERATIONS = (("insert", "NEW"), ("update", "NEW"), ("delete", "OLD"))


def create_triggers(tables=ROW_TABLES) -> str:
    return ";\n".join(
        f"CREATE TRIGGER {table}_outbox_{op} AFTER {op.upper()} ON {table} "
        f"REFERENCING {side} TABLE AS changed FOR EACH STATEMENT "
        f"EXECUTE FUNCTION {FUNCTION}('{column}')"
        for table, column in tables
        for op, side in _OPERATIONS
    )


def drop_triggers(tables=ROW_TABLES) -> str:
    return ";\n".join(
        f"DROP TRIGGER IF EXISTS {table}_outbox_{op} ON {table}"
        for table, _ in tables
        for op, _ in _OPERATIONS
    )
