"""Two admin sites: operators manage the platform on the public host; a tenant's admins
manage that tenant's data on its own host."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django_tenants.utils import get_public_schema_name

from tenants.models import Membership
from tenants.roles import Role


class SignInAdminSite(admin.AdminSite):
    """An admin whose login page offers the issuer's sign-in (admin_sign_in.py) above the
    password form."""

    login_template = "admin/sign_in_login.html"

    def each_context(self, request):
        context = super().each_context(request)
        context["sign_in_enabled"] = settings.ADMIN_SIGN_IN_ENABLED
        context["sign_in_failed"] = request.GET.get("sign_in") == "failed"
        return context


class PublicAdminSite(SignInAdminSite):
    site_header = "Loupe operations"
    site_title = "Loupe operations"

    def has_permission(self, request) -> bool:
        user = request.user
        return user.is_active and user.is_superuser


def is_tenant_admin(request) -> bool:
    """Superusers, and this tenant's members with the admin or owner role."""
    user = request.user
    tenant = getattr(request, "tenant", None)
    if not user.is_active or tenant is None or tenant.schema_name == get_public_schema_name():
        return False
    if user.is_superuser:
        return True
    return (
        Membership.objects.using("default")
        .filter(user=user, tenant=tenant, role__in=[Role.ADMIN, Role.OWNER])
        .exists()
    )


class TenantAdminAuthenticationForm(AdminAuthenticationForm):
    """Tenant admins log in without being platform staff."""

    def confirm_login_allowed(self, user) -> None:
        self.request.user = user
        if not is_tenant_admin(self.request):
            raise ValidationError(
                "Only this tenant's admins and owners can use its admin.", code="invalid_login"
            )


class TenantAdminSite(SignInAdminSite):
    site_header = "Loupe"
    site_title = "Loupe"
    index_template = "admin/tenant_index.html"
    login_form = TenantAdminAuthenticationForm

    def has_permission(self, request) -> bool:
        return is_tenant_admin(request)

    def each_context(self, request):
        context = super().each_context(request)
        context["site_header"] = f"Loupe: {request.tenant.name}"
        return context


class TenantAdminPermissions:
    """A tenant admin may do everything to their tenant's data."""

    def has_module_permission(self, request) -> bool:
        return is_tenant_admin(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return is_tenant_admin(request)

    def has_add_permission(self, request, obj=None) -> bool:
        return is_tenant_admin(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return is_tenant_admin(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return is_tenant_admin(request)


class TenantModelAdmin(TenantAdminPermissions, admin.ModelAdmin):
    pass


class TenantRecordAdmin(TenantModelAdmin):
    """Records the platform writes (index state, snapshots): a tenant admin views them,
    never adds or edits them here, and deletes them only where `deletable`."""

    deletable = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.deletable and super().has_delete_permission(request, obj)


class TenantTabularInline(TenantAdminPermissions, admin.TabularInline):
    pass


public_admin_site = PublicAdminSite(name="public_admin")
tenant_admin_site = TenantAdminSite(name="tenant_admin")
