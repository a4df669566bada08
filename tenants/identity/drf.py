"""DRF sees the identity the tenant middleware authenticated."""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication


class IdentityAuthentication(BaseAuthentication):
    def authenticate(self, request):
        identity = getattr(request._request, "identity", None)
        if identity is None:
            return None
        return identity.user, identity

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="loupe"'
