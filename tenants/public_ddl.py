"""DDL on the objects tenant schemas share in public (the search outbox's trigger function,
the annotation area functions), run from tenant apps' migrations.

A tenant app's migration runs once per schema, and `migrate_schemas` with the
multiprocessing executor runs several schemas at once. Two sessions replacing the same
function in public at the same moment make Postgres fail one of them with "tuple concurrently
updated": its row in pg_proc changed under it. Wrapped here, each session first takes one
transaction-level advisory lock, so they replace the function in turn; the lock is held
until the migration's transaction ends, and everything else the migrations do still runs in
parallel.
"""

from __future__ import annotations

_PUBLIC_DDL_LOCK = 0x4C4F5550_505542  # "LOUPPUB"
_QUOTE = "$public_ddl$"


def one_schema_at_a_time(sql: str) -> str:
    """`sql` (one or more statements, separated by `;`) as one DO block that holds the lock
    before running them."""
    if _QUOTE in sql:
        raise ValueError(f"the statements may not hold {_QUOTE}")
    return (
        f"DO {_QUOTE}\nBEGIN\n"
        f"PERFORM pg_advisory_xact_lock({_PUBLIC_DDL_LOCK});\n"
        f"{sql.strip().rstrip(';')};\n"
        f"END\n{_QUOTE}"
    )
