"""Tenant activation on every database alias.

django-tenants sets the search_path of the `default` connection only; this hook, installed
as EXTRA_SET_TENANT_METHOD_PATH, makes the replica follow so that a read routed there runs
in the same tenant's schema.
"""

from __future__ import annotations

from django.db import connections

from loupe.db.replica_health import REPLICA_ALIAS
from loupe.db.router import PRIMARY_ALIAS


def follow_on_replica(connection, tenant) -> None:
    if connection.alias != PRIMARY_ALIAS:
        return
    connections[REPLICA_ALIAS].set_tenant(tenant, include_public=connection.include_public_schema)


def active_schema() -> str:
    return connections[PRIMARY_ALIAS].schema_name
