"""Tasks about the workers themselves, for operators (`manage.py check_workers`)."""

from __future__ import annotations

import platform

from django.db import connection

from loupe.celery import app


@app.task(name="workers.system.ping", acks_late=False)
def ping() -> dict:
    """Answer which worker, Python and tenant schema ran this task."""
    return {
        "schema": connection.schema_name,
        "node": platform.node(),
        "python": platform.python_version(),
    }
