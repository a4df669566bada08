from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django_tenants.utils import tenant_context

from loupe.usage import tenant_usage
from tenants.admin_sites import public_admin_site
from tenants.models import Domain, Membership, Tenant, TenantQuota, User
from tenants.services import set_tenant_active


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class TenantQuotaInline(admin.StackedInline):
    model = TenantQuota
    max_num = 1
    can_delete = False
    verbose_name_plural = "quota (a blank field takes the platform's default)"


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant, site=public_admin_site)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "schema_name", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["slug", "name"]
    readonly_fields = ["schema_name", "created_at", "usage"]
    inlines = [DomainInline, TenantQuotaInline, MembershipInline]
    actions = ["deactivate", "activate"]

    @admin.display(description="usage (of its limits)")
    def usage(self, tenant: Tenant) -> str:
        with tenant_context(tenant):
            used = tenant_usage()
        running = ", ".join(
            f"{kind} {jobs['running']} of {jobs['limit']}" for kind, jobs in used["jobs"].items()
        )
        storage = used["storage_bytes"]
        return (
            f"storage {storage['used']:,} of {storage['limit']:,} bytes; "
            f"rows {used['rows']['used']:,} of {used['rows']['limit']:,}; "
            f"training runs queued or running {used['training_runs']['used']} of "
            f"{used['training_runs']['limit']}; running: {running}"
        )

    def save_model(self, request, obj, form, change) -> None:
        # Through the service, as the actions: (de)activation is recorded in the audit log.
        if change and "is_active" in form.changed_data:
            set_tenant_active(tenant=obj, active=obj.is_active)
        super().save_model(request, obj, form, change)

    def has_add_permission(self, request) -> bool:
        # A tenant needs its schema: provision with `manage.py create_tenant`.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Deactivate selected tenants")
    def deactivate(self, request, queryset):
        for tenant in queryset:
            set_tenant_active(tenant=tenant, active=False)
        messages.success(request, f"Deactivated {queryset.count()} tenant(s).")

    @admin.action(description="Activate selected tenants")
    def activate(self, request, queryset):
        for tenant in queryset:
            set_tenant_active(tenant=tenant, active=True)
        messages.success(request, f"Activated {queryset.count()} tenant(s).")


@admin.register(Domain, site=public_admin_site)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "tenant", "is_primary"]
    search_fields = ["domain"]


@admin.register(User, site=public_admin_site)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password", "subject", "full_name"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    filter_horizontal: list[str] = []
    list_filter = ["is_active", "is_staff", "is_superuser"]
    inlines = [MembershipInline]


@admin.register(Membership, site=public_admin_site)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant"]
    search_fields = ["user__email", "tenant__slug"]
