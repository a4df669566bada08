"""A read that fails on the replica is answered again from the primary, not with a 500.

Only safe methods are retried: they change nothing, so running the view twice is harmless.
"""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from rest_framework.permissions import SAFE_METHODS

from loupe.db import pinning
from loupe.db.replica_health import mark_replica_down

logger = logging.getLogger(__name__)


class ReplicaFailoverMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        reads_only = request.method in SAFE_METHODS or pinning.is_read_only_request()
        if not reads_only or not pinning.used_replica():
            return None
        if getattr(request, "_replica_failover_done", False):
            return None
        request._replica_failover_done = True
        logger.warning("replica read failed; answering from the primary", exc_info=exception)
        mark_replica_down(str(exception))
        pinning.pin_to_primary()
        return self.get_response(request)
