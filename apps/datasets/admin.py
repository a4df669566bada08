from django.contrib import admin

from apps.datasets import services
from apps.datasets.models import Annotation, DataRow, Dataset, ImportJob
from tenants.admin_sites import TenantModelAdmin, TenantTabularInline, tenant_admin_site


@admin.register(Dataset, site=tenant_admin_site)
class DatasetAdmin(TenantModelAdmin):
    list_display = ["name", "project", "created_at"]
    list_filter = ["project"]
    search_fields = ["name"]

    # Through the service, as the API deletes: rows by two statements, and the stored files.
    def delete_model(self, request, obj) -> None:
        services.delete_dataset(dataset=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for dataset in queryset:
            services.delete_dataset(dataset=dataset, actor=request.user)


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

    # Through the service, as the API deletes: the stored media go with their rows.
    def delete_model(self, request, obj) -> None:
        services.delete_row(row=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        services.delete_rows(rows=queryset, actor=request.user)


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
