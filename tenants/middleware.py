"""Resolves each HTTP request's tenant from its host, and fails closed."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import remove_www

from loupe import log_context
from loupe.api.errors import error_response
from tenants.errors import TenantErrorCode
from tenants.models import Domain

# Probes answer on any host (load balancers call them by IP), in the public schema.
UNTENANTED_PATHS = ("/healthz", "/readyz")


def tenant_for_host(host: str):
    """The tenant a host name routes to, or None. Read from the primary: a tenant
    provisioned a moment ago must be reachable at once, whatever the replica's lag."""
    domain = (
        Domain.objects.using("default")
        .select_related("tenant")
        .filter(domain=remove_www(host.split(":")[0]).lower())
        .first()
    )
    return domain.tenant if domain else None


class TenantMiddleware(TenantMainMiddleware):
    def process_request(self, request):
        connection.set_schema_to_public()
        if request.path.rstrip("/") in UNTENANTED_PATHS:
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            return None
        tenant = tenant_for_host(request.get_host())
        if tenant is None:
            return error_response(
                404,
                TenantErrorCode.TENANT_NOT_FOUND,
                "No tenant is served at this host name.",
            )
        if not tenant.is_active:
            return error_response(
                403, TenantErrorCode.TENANT_INACTIVE, f"Tenant {tenant.slug!r} is deactivated."
            )
        request.tenant = tenant
        connection.set_tenant(tenant)
        log_context.tenant.set(tenant.schema_name)
        self.setup_url_routing(request)
        return None
