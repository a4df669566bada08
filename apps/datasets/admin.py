from django.contrib import admin

from apps.datasets.models import Annotation, DataRow, Dataset, ImportJob
from tenants.admin_sites import TenantModelAdmin, TenantTabularInline, tenant_admin_site


@admin.register(Dataset, site=tenant_admin_site)
class DatasetAdmin(TenantModelAdmin):
    list_display = ["name", "project", "created_at"]
    list_filter = ["project"]
    search_fields = ["name"]


class AnnotationInline(TenantTabularInline):
    model = Annotation
    extra = 0
    fields = ["class_name", "geometry_type", "geometry", "attributes", "source"]


@admin.register(DataRow, site=tenant_admin_site)
class DataRowAdmin(TenantModelAdmin):
    list_display = ["external_id", "dataset", "width", "height", "updated_at"]
    list_filter = ["dataset"]
    search_fields = ["external_id"]
    # Millions of rows: no full count for the paginator, no select boxes of rows.
    show_full_result_count = False
    raw_id_fields = ["dataset"]
    inlines = [AnnotationInline]


@admin.register(ImportJob, site=tenant_admin_site)
class ImportJobAdmin(TenantModelAdmin):
    list_display = [
        "id",
        "dataset",
        "format",
        "status",
        "created",
        "updated",
        "unchanged",
        "failed",
        "created_at",
    ]
    list_filter = ["status", "format"]
    readonly_fields = [f.name for f in ImportJob._meta.fields]

    def has_add_permission(self, request, obj=None) -> bool:
        return False
