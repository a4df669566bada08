"""Resolves each HTTP request's tenant and identity, and fails closed.

The tenant comes from the bearer token (a JWT, or a session traded for an API key) and from
the host name through the Domain table; when both name a tenant they must agree. Without a
token, a tenant host serves only what needs no identity (its admin, docs, the API's 401s).
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name
from rest_framework.permissions import SAFE_METHODS

from loupe import log_context
from loupe.api.errors import error_response
from loupe.db import last_write, pinning
from tenants.errors import TenantErrorCode
from tenants.hosts import tenant_for_host
from tenants.identity.authenticate import authenticate_token, bearer_token
from tenants.identity.client_address import request_client_address
from tenants.identity.errors import AuthenticationFailed, AuthErrorCode

# Probes answer on any host (load balancers call them by IP), in the public schema.
UNTENANTED_PATHS = ("/healthz", "/readyz")
# The tenant API's paths. Without a token they answer 401 on every host, so that a client can
# tell "sign in" from "no such endpoint"; the session exchange takes an API key instead.
API_PREFIX = "/api/v1/"
PUBLIC_API_PATHS = ("/api/v1/session/",)


def auth_error_response(exc: AuthenticationFailed):
    response = error_response(exc.status, exc.code, exc.detail)
    if exc.status == 401:
        response["WWW-Authenticate"] = (
            f'Bearer realm="loupe", error="invalid_token", error_description="{exc.code}"'
        )
    return response


class TenantMiddleware(TenantMainMiddleware):
    def process_request(self, request):
        connection.set_schema_to_public()
        request.identity = None
        if request.path.rstrip("/") in UNTENANTED_PATHS:
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            return None
        host_tenant = tenant_for_host(request.get_host())
        try:
            token = bearer_token(request.headers.get("Authorization", ""))
            client = request_client_address(request)
            identity = authenticate_token(token, client=client) if token else None
        except AuthenticationFailed as exc:
            return auth_error_response(exc)
        public_host = (
            host_tenant is not None and host_tenant.schema_name == get_public_schema_name()
        )
        if identity is not None:
            if host_tenant is not None and not public_host and host_tenant.pk != identity.tenant.pk:
                return error_response(
                    403,
                    AuthErrorCode.TENANT_MISMATCH,
                    f"This host serves {host_tenant.slug!r}; the token is for "
                    f"{identity.tenant.slug!r}.",
                )
            tenant = host_tenant if host_tenant is not None and not public_host else identity.tenant
            request.identity = identity
            log_context.user.set(str(identity.user.pk))
        elif _needs_identity(request.path, host_tenant, public_host):
            return _not_authenticated()
        elif host_tenant is None:
            return error_response(
                404, TenantErrorCode.TENANT_NOT_FOUND, "No tenant is served at this host name."
            )
        elif public_host:
            request.tenant = host_tenant
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            return None
        else:
            tenant = host_tenant
        if not tenant.is_active:
            return error_response(
                403, TenantErrorCode.TENANT_INACTIVE, f"Tenant {tenant.slug!r} is deactivated."
            )
        request.tenant = tenant
        connection.set_tenant(tenant)
        log_context.tenant.set(tenant.schema_name)
        if request.identity is not None:
            last_write.pin_if_replica_behind(tenant.schema_name, _principal(request.identity))
        self.setup_url_routing(request)
        return None

    def process_response(self, request, response):
        """A principal's write is remembered, so that its next requests read it back."""
        identity = getattr(request, "identity", None)
        changed = request.method not in SAFE_METHODS and response.status_code < 400
        if identity is not None and (changed or pinning.wrote()):
            last_write.remember_write(identity.tenant.schema_name, _principal(identity))
        return response


def _not_authenticated():
    """DRF's 401 on a tenant host, as it answers it: no error attribute, none was sent."""
    response = error_response(
        401, AuthErrorCode.NOT_AUTHENTICATED, "Authentication credentials were not provided."
    )
    response["WWW-Authenticate"] = 'Bearer realm="loupe"'
    return response


def _needs_identity(path: str, host_tenant, public_host: bool) -> bool:
    """An API path asked for with no token on a host that names no tenant (unknown, or the
    public one): the tenant's own host answers the same 401 through DRF."""
    untenanted = host_tenant is None or public_host
    return untenanted and path.startswith(API_PREFIX) and path not in PUBLIC_API_PATHS


def _principal(identity) -> str:
    """Who wrote: a person, or one API key's sessions (not the person who made the key)."""
    if identity.api_key_id is not None:
        return f"key-{identity.api_key_id}"
    return f"user-{identity.user.pk}"
