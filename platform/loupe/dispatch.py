"""How apps enqueue work: by task name, after the transaction commits.

Apps never import workers/; they name the task. The tenant travels in the task headers.
"""

from __future__ import annotations

from django.db import transaction


def enqueue_on_commit(task_name: str, *, kwargs: dict, queue: str | None = None) -> None:
    """Send `task_name` once the current transaction commits (at once outside one).
    Nothing is sent for a transaction that rolls back."""
    from loupe.celery import app

    options = {"queue": queue} if queue else {}
    transaction.on_commit(lambda: app.send_task(task_name, kwargs=kwargs, **options))
