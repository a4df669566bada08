"""The base class of every Celery task: tenant-schemas-celery's, reading the task's tenant
from the primary so that a tenant provisioned a moment ago is found whatever the replica's lag."""

from __future__ import annotations

from tenant_schemas_celery.task import TenantTask


class PrimaryTenantTask(TenantTask):
    abstract = True

    @classmethod
    def get_tenant_for_schema(cls, schema_name: str):
        from tenants.models import Tenant

        return Tenant.objects.using("default").get(schema_name=schema_name)
