"""Which database alias ran which statements during a block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from django.db import connections


class QueriesByAlias(dict):
    def touching(self, alias: str, table: str) -> list[str]:
        return [sql for sql in self[alias] if table in sql]


@contextmanager
def queries_by_alias() -> Iterator[QueriesByAlias]:
    """Records statements per alias without opening connections (one may be down)."""
    captured = QueriesByAlias(default=[], replica=[])

    def recorder(alias: str):
        def record(execute, sql, params, many, context):
            captured[alias].append(sql)
            return execute(sql, params, many, context)

        return record

    with ExitStack() as stack:
        for alias in captured:
            stack.enter_context(connections[alias].execute_wrapper(recorder(alias)))
        yield captured


def in_recovery(alias: str) -> bool:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        return cursor.fetchone()[0]
