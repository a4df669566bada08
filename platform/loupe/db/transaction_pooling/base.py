"""The database backend behind a transaction-pooling PgBouncer.

django-tenants sets the tenant with a session-level `SET search_path`, once per connection
(TENANT_LIMIT_SET_CALLS). Through transaction pooling, that SET stays on whichever server
connection ran it, and the client's next transactions run on other server connections, which
carry whatever search path their last client left: one tenant's rows land in another's schema
(django-tenants #732, #1112, #545). PgBouncer 1.18 cannot carry the search path itself
(track_extra_parameters came in 1.20, and needs a server that reports search_path, which
Postgres 15 does not), so this backend never sets it for the session: every transaction
starts with `SET LOCAL search_path` (cursors.TenantTransactionCursor).

What needs a database session of its own (a session advisory lock such as a job's lease or
the template's migrate lock, a temporary table kept past commit, a statement Postgres runs only
outside a transaction while a tenant is active) moves its connection off the pool, to
SESSION_ADDRESS (the primary itself, or a session-mode pool), for the rest of that
connection's life: it then behaves as django-tenants' own backend on a direct connection.
Without SESSION_ADDRESS such a statement is refused, never run where it would leak.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.db import NotSupportedError
from django.db.backends.postgresql.base import Cursor as DjangoCursor
from django_tenants.postgresql_backend import base as tenants_backend
from django_tenants.utils import get_public_schema_name, quote_schema_name

from loupe.db.transaction_pooling import statements
from loupe.db.transaction_pooling.cursors import (
    SearchPath,
    SessionPinningCursorDebugWrapper,
    SessionPinningCursorWrapper,
    TenantTransactionCursor,
    publish_search_path,
)


class DatabaseWrapper(tenants_backend.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        self._session_pinned = False
        super().__init__(*args, **kwargs)

    # --- Pooled or pinned -------------------------------------------------------------------

    @property
    def pool(self):
        # A pinned connection is one of its own, never one of Django's pool (DB_POOL_SIZE).
        return None if self._session_pinned else super().pool

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        # A connection from Django's pool may still name the tenant of its last user.
        if not self._session_pinned:
            self._publish_search_path(connection)
        return connection

    def get_connection_params(self) -> dict:
        params = super().get_connection_params()
        if self._session_pinned:
            host, _, port = self.settings_dict["SESSION_ADDRESS"].rpartition(":")
            params.update(host=host, port=port, cursor_factory=DjangoCursor)
        else:
            params["cursor_factory"] = TenantTransactionCursor
        return params

    def close(self) -> None:
        super().close()
        # What needed the session (a lock, a temporary table) went with it.
        self._session_pinned = False

    def session_cursor_for(self, sql: str):
        """None if `sql` may run on the pooled connection; otherwise the connection is moved
        to a session of its own first, and this is a cursor of it. Raises NotSupportedError
        where it cannot be moved: in a transaction (which would be lost), or with no
        SESSION_ADDRESS to move to."""
        if self._session_pinned:
            return None
        tenant_scoped = self.schema_name != get_public_schema_name()
        if not (
            statements.keeps_session_state(sql)
            or (tenant_scoped and statements.runs_outside_transaction(sql))
        ):
            return None
        if not self.settings_dict.get("SESSION_ADDRESS"):
            raise NotSupportedError(
                f"database {self.alias!r} is behind transaction pooling and has no session "
                f"address (DB_SESSION_ADDRESS) for a statement that needs a session: "
                f"{sql[:120]!r} (docs/pooling.md)"
            )
        if self.in_atomic_block or not self.get_autocommit():
            raise NotSupportedError(
                "a statement that needs a database session of its own cannot run inside a "
                f"transaction behind transaction pooling: {sql[:120]!r} (docs/pooling.md)"
            )
        self.close()
        self._session_pinned = True
        return self._cursor().cursor

    # --- The tenant's search path -----------------------------------------------------------

    def set_tenant(self, tenant, include_public=True):
        super().set_tenant(tenant, include_public)
        if self.connection is not None and not self._session_pinned:
            self._publish_search_path(self.connection)

    def _handle_search_path(self, cursor=None):
        if self._session_pinned:
            super()._handle_search_path(cursor)
        else:
            self._publish_search_path(self.connection)

    def _publish_search_path(self, connection) -> None:
        if not self.schema_name:
            raise ImproperlyConfigured(
                "Database schema not set. Did you forget to call set_schema() or set_tenant()?"
            )
        paths = self._get_cursor_search_paths()  # validated there
        search_path = SearchPath(
            set_local="SET LOCAL search_path = " + ",".join(quote_schema_name(p) for p in paths),
            tenant_scoped=self.schema_name != get_public_schema_name(),
        )
        publish_search_path(connection, search_path)

    # --- Cursor wrappers --------------------------------------------------------------------

    def make_cursor(self, cursor):
        return SessionPinningCursorWrapper(cursor, self)

    def make_debug_cursor(self, cursor):
        return SessionPinningCursorDebugWrapper(cursor, self)
