"""Who a predict call acts as, and in which tenant: the API's own rules (tenants/middleware.py
and tenants/permissions.py), with the same codes and bodies, answered from memory.

A session token is authenticated from Redis alone; the host's tenant comes from a cache in
this process, so a warm call makes no database query. A JWT is verified as the API verifies
it, which reads the user and membership from Postgres.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django_tenants.utils import get_public_schema_name

from tenants.errors import TenantErrorCode
from tenants.hosts import normalise_host, tenant_for_host
from tenants.identity.authenticate import authenticate_token, bearer_token
from tenants.identity.errors import AuthenticationFailed, AuthErrorCode
from tenants.identity.principal import Identity
from tenants.models import Tenant
from tenants.permissions import TenantRolePermission, allows
from workers.serving.errors import PredictError

# How stale a host's tenant may be here. The Redis entry behind it is dropped when a tenant
# or domain changes, but this copy cannot hear of that: a deactivated tenant is refused
# within this many seconds (its sessions end at once, whatever this says).
HOST_CACHE_SECONDS = 10.0
RESOURCE, ACTION = "predict", "write"


@dataclass(frozen=True)
class Admitted:
    tenant: Tenant
    identity: Identity


class HostTenants:
    """Host name -> tenant, kept HOST_CACHE_SECONDS. Unknown hosts are not kept, as in
    tenants.hosts: a domain created a moment ago answers at once."""

    def __init__(self, seconds: float = HOST_CACHE_SECONDS):
        self._seconds = seconds
        # Single dict operations, safe across the server's threads without a lock.
        self._entries: dict[str, tuple[float, Tenant]] = {}

    def get(self, host: str) -> Tenant | None:
        host = normalise_host(host)
        now = time.monotonic()
        entry = self._entries.get(host)
        if entry is not None and entry[0] > now:
            return entry[1]
        tenant = tenant_for_host(host)
        if tenant is None:
            self._entries.pop(host, None)
        else:
            self._entries[host] = (now + self._seconds, tenant)
        return tenant


def admit(*, host_tenant: Tenant | None, authorization: str, client: str) -> Admitted:
    """The tenant and identity of a call, or PredictError with the status, code and detail
    the API answers the same call with."""
    try:
        token = bearer_token(authorization)
        identity = authenticate_token(token, client=client) if token else None
    except AuthenticationFailed as exc:
        raise _refusal(exc.status, exc.code, exc.detail) from exc
    if identity is None:
        # The API's tenant hosts admit a call without a token as far as the view, which asks
        # for credentials; a host that serves no tenant refuses it first.
        if host_tenant is None:
            raise PredictError(
                404, TenantErrorCode.TENANT_NOT_FOUND, "No tenant is served at this host name."
            )
        raise _refusal(
            401, AuthErrorCode.NOT_AUTHENTICATED, "Authentication credentials were not provided."
        )
    public_host = host_tenant is not None and host_tenant.schema_name == get_public_schema_name()
    if host_tenant is not None and not public_host and host_tenant.pk != identity.tenant.pk:
        raise PredictError(
            403,
            AuthErrorCode.TENANT_MISMATCH,
            f"This host serves {host_tenant.slug!r}; the token is for {identity.tenant.slug!r}.",
        )
    tenant = host_tenant if host_tenant is not None and not public_host else identity.tenant
    if not tenant.is_active:
        raise PredictError(
            403, TenantErrorCode.TENANT_INACTIVE, f"Tenant {tenant.slug!r} is deactivated."
        )
    if not allows(identity.role, RESOURCE, ACTION):
        raise PredictError(403, "permission_denied", TenantRolePermission.message)
    return Admitted(tenant=tenant, identity=identity)


def _refusal(status: int, code: AuthErrorCode, detail: str) -> PredictError:
    """The refusal, with the challenge the API sends beside a 401."""
    if status != 401:
        return PredictError(status, code, detail)
    challenge = 'Bearer realm="loupe"'
    if code != AuthErrorCode.NOT_AUTHENTICATED:
        challenge += f', error="invalid_token", error_description="{code}"'
    return PredictError(status, code, detail, headers={"WWW-Authenticate": challenge})
