"""Who a browser's socket acts as, from the session it signed in to the admin with: the live
pages in a tenant's admin follow jobs over WebSockets that carry the session cookie. Only a
socket opened by a page of the same origin may use it (cross-site WebSocket hijacking would
otherwise ride the cookie): the Origin header must name the host the socket connects to."""

from __future__ import annotations

import hashlib
from http.cookies import CookieError, SimpleCookie
from importlib import import_module
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.models import Session
from django.utils.crypto import constant_time_compare

from tenants.identity.principal import Identity, Via
from tenants.models import Membership, Tenant, User
from tenants.roles import Role


def session_key_from(headers: dict[bytes, bytes]) -> str | None:
    """The session cookie's value, if the handshake carries one from its own origin."""
    host = headers.get(b"host", b"").decode("latin-1").lower()
    origin = headers.get(b"origin", b"").decode("latin-1")
    if not origin or urlsplit(origin).netloc.lower() != host:
        return None
    try:
        cookie = SimpleCookie(headers.get(b"cookie", b"").decode("latin-1"))
    except CookieError:
        return None
    morsel = cookie.get(settings.SESSION_COOKIE_NAME)
    return morsel.value if morsel else None


def session_group_parts(session_key: str) -> tuple[str, str]:
    """The Channels group (after the schema) of the sockets a browser session opened: told
    to close when the session signs out (tenants/signals.py)."""
    return ("browser-session", hashlib.sha256(session_key.encode()).hexdigest()[:32])


def identity_from_session(session_key: str, tenant: Tenant) -> Identity | None:
    """The session's user in `tenant` with their role there (a superuser as its owner, as
    the admin lets them in), until the session expires; or None: no such session, a
    logged-out or changed user (the session's auth hash no longer matches), an inactive
    one, or no member."""
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user_id = store.get(SESSION_KEY)
    expires = (
        Session.objects.using("default")
        .filter(session_key=session_key)
        .values_list("expire_date", flat=True)
        .first()
    )
    if user_id is None or expires is None:
        return None
    user = User.objects.using("default").filter(pk=user_id, is_active=True).first()
    if user is None or not constant_time_compare(
        store.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash()
    ):
        return None
    membership = Membership.objects.using("default").filter(user=user, tenant=tenant).first()
    if membership is None and not user.is_superuser:
        return None
    role = Role(membership.role) if membership else Role.OWNER
    return Identity(
        user=user,
        tenant=tenant,
        role=role,
        via=Via.BROWSER_SESSION,
        expires_at=expires.timestamp(),
        browser_session=session_key,
    )
