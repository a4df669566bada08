"""Role checks for the tenant API. Reading needs any membership; writing needs `editor`;
a view may raise the bar per method with `required_roles`."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from tenants.models import Membership
from tenants.roles import Role


def role_in_tenant(request) -> Role | None:
    """The requesting user's role in the request's tenant, looked up once per request and
    from the primary: a role just revoked or changed takes effect at once."""
    if not hasattr(request, "_tenant_role"):
        tenant = getattr(request, "tenant", None)
        user = request.user
        role = None
        if tenant is not None and user.is_authenticated:
            found = (
                Membership.objects.using("default")
                .filter(user=user, tenant=tenant)
                .values_list("role", flat=True)
                .first()
            )
            role = Role(found) if found else None
        request._tenant_role = role
    return request._tenant_role


class TenantRolePermission(BasePermission):
    message = "Your role in this tenant does not allow this."

    def has_permission(self, request, view) -> bool:
        role = role_in_tenant(request)
        if role is None:
            return False
        required = getattr(view, "required_roles", {}).get(request.method)
        if required is None:
            required = Role.VIEWER if request.method in SAFE_METHODS else Role.EDITOR
        return role.at_least(required)
