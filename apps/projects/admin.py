from django.contrib import admin

from apps.projects import services
from apps.projects.models import Project
from tenants.admin_sites import TenantModelAdmin, tenant_admin_site


@admin.register(Project, site=tenant_admin_site)
class ProjectAdmin(TenantModelAdmin):
    list_display = ["name", "created_at", "updated_at"]
    search_fields = ["name"]

    # Through the service, as the API deletes: rows by two statements, the stored files, and
    # the audit log's entries.
    def delete_model(self, request, obj) -> None:
        services.delete_project(project=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for project in queryset:
            services.delete_project(project=project, actor=request.user)
