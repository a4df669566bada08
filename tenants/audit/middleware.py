"""Each request acts as the actor its credentials name (tenants/audit/actor.py)."""

from __future__ import annotations

from tenants.audit.actor import acting_as, actor_of_request


class AuditActorMiddleware:
    """Below AuthenticationMiddleware: an admin's actor comes from their session."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with acting_as(actor_of_request(request)):
            return self.get_response(request)
