"""DRF sees the identity the tenant middleware authenticated."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication


class IdentityAuthentication(BaseAuthentication):
    def authenticate(self, request):
        identity = getattr(request._request, "identity", None)
        if identity is None:
            return None
        return identity.user, identity

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="loupe"'


class IdentityAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describes the bearer scheme in the OpenAPI document."""

    target_class = IdentityAuthentication
    name = "bearer"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT from the OpenID Connect issuer, or a session token from /session/",
        }
