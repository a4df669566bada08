from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The audit log: a tenant app (its table is in each tenant's schema), kept under tenants/
    because the tenants' own services write to it."""

    name = "tenants.audit"
    label = "audit"
    verbose_name = "Audit log"
