"""What every log line carries: the request, tenant, user and job it belongs to.

Values live in contextvars so that concurrent ASGI requests and Celery tasks never mix them.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
tenant: ContextVar[str | None] = ContextVar("tenant", default=None)
user: ContextVar[str | None] = ContextVar("user", default=None)
job: ContextVar[str | None] = ContextVar("job", default=None)

_FIELDS = {"request_id": request_id, "tenant": tenant, "user": user, "job": job}


class ContextFilter(logging.Filter):
    """Copies the current context onto each record (only the fields that are set)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _FIELDS.items():
            value = var.get()
            if value is not None and not hasattr(record, name):
                setattr(record, name, value)
        return True
