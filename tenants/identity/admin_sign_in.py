"""Signing in to the admins (both: the operators' on the public host, a tenant's on its own
host) through the configured issuer, with the authorization code flow and PKCE.

mozilla-django-oidc runs the flow: `/oidc/authenticate/` sends the browser to the issuer
with a state, a nonce and a PKCE challenge kept in the session, and `/oidc/callback/` trades
the code (with the verifier) for tokens and signs the user in. This backend verifies the ID
token as the API verifies its tokens (tokens.py: the same keys, algorithms, iss, exp and nbf;
the audience is this client) and finds the user by the same rules (claims.py). What the user
may then do is their membership's: a tenant's admin opens to its admins and owners, the
operators' to superusers (admin_sites.py), as for a password login.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from tenants.identity.claims import user_for_claims
from tenants.identity.errors import AuthenticationFailed, NotAdmitted, ServiceUnavailable
from tenants.identity.tokens import verify_jwt

logger = logging.getLogger(__name__)


class AdminSignInBackend(OIDCAuthenticationBackend):
    def verify_token(self, token, **kwargs) -> dict:
        try:
            claims = verify_jwt(token or "", audience=settings.OIDC_RP_CLIENT_ID)
        except (AuthenticationFailed, ServiceUnavailable) as exc:
            raise SuspiciousOperation(f"ID token refused: {exc.code}: {exc.detail}") from exc
        if claims.get("nonce") != kwargs.get("nonce"):
            raise SuspiciousOperation("ID token refused: its nonce is not this sign-in's")
        return claims

    def get_userinfo(self, access_token, id_token, payload) -> dict:
        return payload  # the verified ID token's claims

    def get_or_create_user(self, access_token, id_token, payload):
        try:
            user = user_for_claims(payload)
        except NotAdmitted as exc:
            logger.warning("admin sign-in refused", extra={"code": exc.code, "sub": payload["sub"]})
            return None
        return user if user.is_active else None
