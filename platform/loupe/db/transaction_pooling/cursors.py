"""Cursors that keep every statement inside a transaction carrying the tenant's search path.

Two layers. `TenantTransactionCursor` is psycopg's cursor on a pooled connection: every
statement it runs lies inside a transaction whose first statement is `SET LOCAL search_path`,
so whichever server connection PgBouncer lends for that transaction, and whatever another
client left on it, the statement sees the active tenant's schema and no other. Inside a
Django transaction the `SET LOCAL` follows the BEGIN; a statement in autocommit gets a
transaction of its own (BEGIN and SET LOCAL in one round trip, the statement, COMMIT).
`SessionPinningCursorWrapper` is Django's cursor wrapper: a statement that needs a session of
its own moves the connection off the pool first (DatabaseWrapper.session_cursor_for).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
from django.db.backends.postgresql.base import Cursor as DjangoCursor
from django.db.backends.postgresql.base import CursorDebugWrapper
from django.db.backends.utils import CursorWrapper
from psycopg import sql as psycopg_sql
from psycopg.pq import TransactionStatus

from loupe.db.transaction_pooling import statements


@dataclass(frozen=True)
class SearchPath:
    """The statement that sets the active tenant's search path for one transaction."""

    set_local: str
    tenant_scoped: bool


PUBLIC_SEARCH_PATH = SearchPath(set_local='SET LOCAL search_path = "public"', tenant_scoped=False)

# Kept on psycopg's connection object: what the Django connection wants now, and what the
# open transaction has already been given.
_WANTED = "loupe_search_path"
_GIVEN = "loupe_search_path_in_transaction"


def publish_search_path(connection: psycopg.Connection, search_path: SearchPath) -> None:
    setattr(connection, _WANTED, search_path)


def _forget_given(connection: psycopg.Connection) -> None:
    setattr(connection, _GIVEN, None)


def _text(connection: psycopg.Connection, query) -> str:
    if isinstance(query, str):
        return query
    if isinstance(query, bytes):
        return query.decode(errors="replace")
    if isinstance(query, psycopg_sql.Composable):
        return query.as_string(connection)
    return str(query)


def _begin(connection: psycopg.Connection) -> str:
    level = connection.isolation_level
    return "BEGIN" if level is None else f"BEGIN ISOLATION LEVEL {level.name.replace('_', ' ')}"


@contextlib.contextmanager
def _tenant_transaction(connection: psycopg.Connection, query) -> Iterator[None]:
    """Runs the block's one statement where it cannot meet another tenant's search path."""
    sql = _text(connection, query)
    wanted: SearchPath = getattr(connection, _WANTED, PUBLIC_SEARCH_PATH)
    if statements.is_transaction_control(sql):
        yield
        if not statements.keeps_local_settings(sql):
            _forget_given(connection)  # ended, begun, or rolled back to before the SET LOCAL
        return
    if statements.keeps_session_state(sql):
        raise psycopg.NotSupportedError(
            "this statement keeps state in the database session, which transaction pooling "
            f"does not keep: {sql[:120]!r} (docs/pooling.md)"
        )
    if statements.runs_outside_transaction(sql):
        if wanted.tenant_scoped:
            raise psycopg.NotSupportedError(
                "this statement cannot run in a transaction, so it cannot carry the tenant's "
                f"search path: {sql[:120]!r} (docs/pooling.md)"
            )
        yield
        return
    status = connection.info.transaction_status
    if status == TransactionStatus.IDLE and connection.autocommit:
        control = psycopg.ClientCursor(connection)
        control.execute(f"{_begin(connection)}; {wanted.set_local}")
        try:
            yield
        except BaseException:
            with contextlib.suppress(psycopg.Error):
                control.execute("ROLLBACK")
            raise
        control.execute("COMMIT")
        return
    if status == TransactionStatus.IDLE:
        _forget_given(connection)  # psycopg is about to BEGIN
    if status != TransactionStatus.INERROR and getattr(connection, _GIVEN, None) != wanted:
        psycopg.ClientCursor(connection).execute(wanted.set_local)
        setattr(connection, _GIVEN, wanted)
    yield


class TenantTransactionCursor(DjangoCursor):
    """Django's psycopg cursor, each statement in a transaction that carries the tenant."""

    def execute(self, query, params=None, **kwargs):
        with _tenant_transaction(self.connection, query):
            return super().execute(query, params, **kwargs)

    def executemany(self, query, params_seq, **kwargs):
        with _tenant_transaction(self.connection, query):
            return super().executemany(query, params_seq, **kwargs)

    @contextlib.contextmanager
    def copy(self, statement, params=None, **kwargs):
        with (
            _tenant_transaction(self.connection, statement),
            super().copy(statement, params, **kwargs) as copy,
        ):
            yield copy

    def stream(self, query, params=None, **kwargs):
        with _tenant_transaction(self.connection, query):
            yield from super().stream(query, params, **kwargs)


class _SessionPinning:
    """Before a statement that needs a session of its own, the connection moves off the pool
    and the wrapper takes a cursor of the new connection."""

    def execute(self, sql, params=None):
        self._pin_if_needed(sql)
        return super().execute(sql, params)

    def executemany(self, sql, param_list):
        self._pin_if_needed(sql)
        return super().executemany(sql, param_list)

    def _pin_if_needed(self, sql) -> None:
        cursor = self.db.session_cursor_for(_text(self.cursor.connection, sql))
        if cursor is not None:
            self.cursor.close()
            self.cursor = cursor


class SessionPinningCursorWrapper(_SessionPinning, CursorWrapper):
    pass


class SessionPinningCursorDebugWrapper(_SessionPinning, CursorDebugWrapper):
    pass
