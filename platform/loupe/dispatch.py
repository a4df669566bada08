"""How apps enqueue work: by task name, after the transaction commits.

Apps never import workers/; they name the task. The task carries the tenant that was active
when it was enqueued (not when the commit happened), and the primary's WAL position after the
commit, so the worker reads from the replica only once the replica has caught up with it.
"""

from __future__ import annotations

from django.db import connections, transaction
from django_tenants.utils import get_public_schema_name

PRIMARY_LSN_HEADER = "_primary_lsn"
SCHEMA_HEADER = "_schema_name"


def _primary_lsn() -> str:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return cursor.fetchone()[0]


def _sender(task_name: str, *, kwargs: dict, queue: str | None):
    from loupe.celery import app

    schema = connections["default"].schema_name
    if schema == get_public_schema_name():
        raise RuntimeError(f"{task_name} must be enqueued inside a tenant")
    options = {"queue": queue} if queue else {}

    def send() -> None:
        headers = {SCHEMA_HEADER: schema, PRIMARY_LSN_HEADER: _primary_lsn()}
        # Nothing reads an enqueued task's result: its job, or the index, holds the outcome.
        app.send_task(task_name, kwargs=kwargs, headers=headers, ignore_result=True, **options)

    return send


def enqueue_on_commit(task_name: str, *, kwargs: dict, queue: str | None = None) -> None:
    """Send `task_name` once the current transaction commits (at once outside one); nothing
    is sent for a transaction that rolls back. Raises RuntimeError outside a tenant: every
    task belongs to one."""
    transaction.on_commit(_sender(task_name, kwargs=kwargs, queue=queue))


def enqueue(task_name: str, *, kwargs: dict, queue: str | None = None) -> None:
    """Send `task_name` now, for what is committed already (outside a transaction)."""
    _sender(task_name, kwargs=kwargs, queue=queue)()
