"""Who may do what in a tenant: the role matrix, as data, and the DRF permission that reads it.

Every tenant API view names the `resource` it serves; safe methods are the `read` action,
others `write`, unless the view maps methods to actions itself (`actions`). A view with no
resource, or a resource/action missing from the matrix, is refused: fail closed.
"""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from tenants.roles import Role

# (resource, action) -> the least role allowed. viewer reads; editor also writes data;
# admin also manages members, API keys and webhooks, and reads the audit log; owner also
# manages the tenant itself.
ROLE_MATRIX: dict[tuple[str, str], Role] = {
    ("me", "read"): Role.VIEWER,
    ("events", "subscribe"): Role.VIEWER,
    ("tenant", "read"): Role.VIEWER,
    ("tenant", "write"): Role.OWNER,
    ("projects", "read"): Role.VIEWER,
    ("projects", "write"): Role.EDITOR,
    ("datasets", "read"): Role.VIEWER,
    ("datasets", "write"): Role.EDITOR,
    ("search", "read"): Role.VIEWER,
    ("slices", "read"): Role.VIEWER,
    ("slices", "write"): Role.EDITOR,
    ("training", "read"): Role.VIEWER,
    ("training", "write"): Role.EDITOR,
    ("models", "read"): Role.VIEWER,
    ("predictions", "read"): Role.VIEWER,
    ("predictions", "write"): Role.EDITOR,
    # Online predict is a POST that changes nothing: whoever may read the models may ask.
    ("predict", "write"): Role.VIEWER,
    ("jobs", "read"): Role.VIEWER,
    ("members", "read"): Role.ADMIN,
    ("members", "write"): Role.ADMIN,
    ("api_keys", "read"): Role.ADMIN,
    ("api_keys", "write"): Role.ADMIN,
    ("usage", "read"): Role.ADMIN,
    ("webhooks", "read"): Role.ADMIN,
    ("webhooks", "write"): Role.ADMIN,
    ("audit", "read"): Role.ADMIN,
}


def required_role(resource: str, action: str) -> Role | None:
    return ROLE_MATRIX.get((resource, action))


def allows(role: Role | None, resource: str, action: str) -> bool:
    required = required_role(resource, action)
    return role is not None and required is not None and role.at_least(required)


def action_for(view, method: str) -> str:
    actions = getattr(view, "actions_by_method", None) or {}
    return actions.get(method, "read" if method in SAFE_METHODS else "write")


class TenantRolePermission(BasePermission):
    message = "Your role in this tenant does not allow this."

    def has_permission(self, request, view) -> bool:
        identity = request.auth
        resource = getattr(view, "resource", None)
        if identity is None or resource is None:
            return False
        return allows(identity.role, resource, action_for(view, request.method))
