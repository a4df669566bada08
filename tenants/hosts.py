"""Which tenant a host name routes to, cached in Redis so the hot path needs no query.

Entries are dropped whenever a tenant or domain changes (see tenants.signals), and expire
after HOST_CACHE_SECONDS in any case. Unknown hosts are not cached: a domain created a
moment ago answers at once.
"""

from __future__ import annotations

import contextlib
import logging

from django.core.cache import cache
from django_tenants.utils import remove_www
from redis.exceptions import RedisError

from tenants.models import Domain, Tenant

logger = logging.getLogger(__name__)

HOST_CACHE_SECONDS = 300
_FIELDS = ("id", "schema_name", "slug", "name", "is_active")


def normalise_host(host: str) -> str:
    return remove_www(host.split(":")[0]).lower()


def _cache_key(host: str) -> str:
    return f"tenant-host:{host}"


def tenant_for_host(host: str) -> Tenant | None:
    """The tenant a host name routes to, or None. Misses read the primary: a tenant
    provisioned a moment ago must be reachable whatever the replica's lag."""
    host = normalise_host(host)
    try:
        cached = cache.get(_cache_key(host))
    except RedisError:
        logger.warning("host cache unavailable; reading the primary")
        cached = None
    if cached is not None:
        return Tenant(**cached)
    domain = Domain.objects.using("default").select_related("tenant").filter(domain=host).first()
    if domain is None:
        return None
    tenant = domain.tenant
    with contextlib.suppress(RedisError):
        cache.set(_cache_key(host), {f: getattr(tenant, f) for f in _FIELDS}, HOST_CACHE_SECONDS)
    return tenant


def forget_hosts(*hosts: str) -> None:
    cache.delete_many([_cache_key(normalise_host(host)) for host in hosts])


def forget_tenant_hosts(tenant: Tenant) -> None:
    forget_hosts(
        *Domain.objects.using("default").filter(tenant=tenant).values_list("domain", flat=True)
    )
