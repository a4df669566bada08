"""Request id, log context and database pinning for each request, and one JSON log line."""

from __future__ import annotations

import logging
import re
import time
import uuid

from rest_framework.permissions import SAFE_METHODS

from loupe import log_context
from loupe.db.pinning import pin_to_primary, unit_of_work

logger = logging.getLogger("loupe.request")

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is honoured only when it is short and plain, so it is safe in logs.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_from(request) -> str:
    supplied = request.headers.get(REQUEST_ID_HEADER, "")
    if _VALID_REQUEST_ID.match(supplied):
        return supplied
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Outermost middleware: everything below it runs inside the request's context."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_from(request)
        # Inner layers set the tenant and user as they learn them; all is undone on the way out.
        tokens = [
            (log_context.request_id, log_context.request_id.set(request.request_id)),
            (log_context.tenant, log_context.tenant.set(None)),
            (log_context.user, log_context.user.set(None)),
        ]
        started = time.perf_counter()
        try:
            with unit_of_work():
                if request.method not in SAFE_METHODS:
                    # A request that writes reads its targets from the primary too: the row
                    # it changes may be newer than the replica.
                    pin_to_primary()
                response = self.get_response(request)
            log_context.tenant.set(_tenant_label(getattr(request, "tenant", None)))
            log_context.user.set(_user_label(request))
            response[REQUEST_ID_HEADER] = request.request_id
            logger.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            return response
        finally:
            for var, token in reversed(tokens):
                var.reset(token)


def _tenant_label(tenant) -> str | None:
    return getattr(tenant, "schema_name", None)


def _user_label(request) -> str | None:
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return str(user.pk)
