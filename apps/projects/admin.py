from django.contrib import admin

from apps.projects.models import Project
from tenants.admin_sites import TenantModelAdmin, tenant_admin_site


@admin.register(Project, site=tenant_admin_site)
class ProjectAdmin(TenantModelAdmin):
    list_display = ["name", "created_at", "updated_at"]
    search_fields = ["name"]
