from django.contrib import admin

from search.models import IndexFailure, IndexVersion, OutboxEntry
from tenants.admin_sites import TenantModelAdmin, tenant_admin_site


@admin.register(IndexVersion, site=tenant_admin_site)
class IndexVersionAdmin(TenantModelAdmin):
    list_display = ["name", "state", "created_at"]
    readonly_fields = ["name", "state", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(OutboxEntry, site=tenant_admin_site)
class OutboxEntryAdmin(TenantModelAdmin):
    """The changes waiting to reach the index: a long list means indexing is behind."""

    list_display = ["id", "data_row_id", "created_at"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(IndexFailure, site=tenant_admin_site)
class IndexFailureAdmin(TenantModelAdmin):
    """Rows Elasticsearch refused: fix the row (any change indexes it again) or reindex."""

    list_display = ["data_row_id", "reason", "created_at"]
    search_fields = ["reason"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
