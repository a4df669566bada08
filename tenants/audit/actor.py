"""Who does an audited action, and from which address.

Every request runs as the actor its credentials name (set by AuditActorMiddleware), so the
services that record actions (tenants/audit/record.py) learn who and from where without each
view passing it down; outside a request (a management command, the shell) the actor is
SYSTEM. A ContextVar, as in loupe.log_context, so concurrent requests never mix them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest
from django_tenants.utils import get_public_schema_name

from tenants.audit.models import ActorKind
from tenants.identity.client_address import request_client_address


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    address: str = ""
    user_id: int | None = None
    email: str = ""
    api_key_id: int | None = None
    api_key_name: str = ""


SYSTEM = Actor(kind=ActorKind.SYSTEM)

_current: ContextVar[Actor | None] = ContextVar("audit_actor", default=None)


def actor_of_request(request: HttpRequest) -> Actor | None:
    """A bearer token's identity (a member, or an API key's session, not the person who made
    the key); else the admin's session: an operator on the public host, a member on a
    tenant's. None for an anonymous request, which can do nothing that is recorded."""
    address = request_client_address(request)
    identity = getattr(request, "identity", None)
    if identity is not None and identity.api_key_id is not None:
        return Actor(
            kind=ActorKind.API_KEY,
            address=address,
            api_key_id=identity.api_key_id,
            api_key_name=identity.api_key_name or "",
        )
    if identity is not None:
        user = identity.user
        return Actor(kind=ActorKind.USER, address=address, user_id=user.pk, email=user.email)
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    tenant = getattr(request, "tenant", None)
    if tenant is not None and tenant.schema_name == get_public_schema_name():
        return Actor(kind=ActorKind.OPERATOR, address=address)
    return Actor(kind=ActorKind.USER, address=address, user_id=user.pk, email=user.email)


@contextmanager
def acting_as(actor: Actor | None) -> Iterator[None]:
    token = _current.set(actor)
    try:
        yield
    finally:
        _current.reset(token)


def current_actor() -> Actor:
    return _current.get() or SYSTEM
