from django.contrib import admin

from tenants.admin_sites import TenantRecordAdmin, tenant_admin_site
from tenants.audit.models import ActorKind, AuditEntry

_FIELDS = [
    "created_at", "action", "actor_kind", "actor_user_id", "actor_email", "actor_api_key_id",
    "actor_api_key_name", "client_address", "target_type", "target_id", "detail",
]  # fmt: skip


@admin.register(AuditEntry, site=tenant_admin_site)
class AuditEntryAdmin(TenantRecordAdmin):
    """Read-only: an entry is written by the action it records, and never changes after."""

    deletable = False
    list_display = ["created_at", "action", "actor", "target", "detail", "client_address"]
    list_filter = ["action", "actor_kind"]
    search_fields = ["actor_email", "actor_api_key_name", "detail", "=client_address"]
    fields = _FIELDS
    readonly_fields = _FIELDS

    @admin.display(description="who")
    def actor(self, entry: AuditEntry) -> str:
        if entry.actor_kind == ActorKind.API_KEY:
            return f"API key {entry.actor_api_key_name} (#{entry.actor_api_key_id})"
        if entry.actor_kind == ActorKind.USER:
            return entry.actor_email
        return entry.actor_kind

    @admin.display(description="target")
    def target(self, entry: AuditEntry) -> str:
        return f"{entry.target_type} {entry.target_id}"
