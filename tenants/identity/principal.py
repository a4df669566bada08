"""Who a request acts as, once authenticated: the user, their tenant and role there."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tenants.models import Tenant, User
from tenants.roles import Role


class Via(StrEnum):
    JWT = "jwt"
    API_KEY_SESSION = "api_key_session"
    # A signed-in admin's browser: the live pages' sockets (the session cookie, same origin).
    BROWSER_SESSION = "browser_session"


@dataclass(frozen=True)
class Identity:
    user: User
    tenant: Tenant
    role: Role
    via: Via
    api_key_id: int | None = None
    api_key_name: str | None = None
    # When the credential stops being valid (epoch seconds): a token's exp, a session's TTL.
    expires_at: float | None = None
    # The admin session a browser's socket came with (Via.BROWSER_SESSION).
    browser_session: str | None = None
