from django.contrib import admin

from search.models import IndexFailure, IndexVersion, OutboxEntry
from tenants.admin_sites import TenantRecordAdmin, tenant_admin_site


@admin.register(IndexVersion, site=tenant_admin_site)
class IndexVersionAdmin(TenantRecordAdmin):
    list_display = ["name", "state", "created_at"]
    # A reindex in progress writes to its version: deleting the record would lose changes.
    deletable = False


@admin.register(OutboxEntry, site=tenant_admin_site)
class OutboxEntryAdmin(TenantRecordAdmin):
    """The changes waiting to reach the index: a long list means indexing is behind."""

    list_display = ["id", "data_row_id", "created_at"]
    show_full_result_count = False
    deletable = False


@admin.register(IndexFailure, site=tenant_admin_site)
class IndexFailureAdmin(TenantRecordAdmin):
    """Rows Elasticsearch refused: fix the row (any change indexes it again) or reindex."""

    list_display = ["data_row_id", "reason", "created_at"]
    search_fields = ["reason"]
