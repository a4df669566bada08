"""The role matrix, walked endpoint by endpoint and role by role: each endpoint answers 403
exactly where the matrix says the role falls short."""

import pytest

from tenants.permissions import ROLE_MATRIX, required_role
from tenants.roles import Role

# (method, path, resource, action); {project}, {member} and {key} are filled per test.
ENDPOINTS = [
    ("GET", "/api/v1/me/", "me", "read"),
    ("GET", "/api/v1/tenant/", "tenant", "read"),
    ("PATCH", "/api/v1/tenant/", "tenant", "write"),
    ("GET", "/api/v1/projects/", "projects", "read"),
    ("POST", "/api/v1/projects/", "projects", "write"),
    ("GET", "/api/v1/projects/{project}/", "projects", "read"),
    ("PATCH", "/api/v1/projects/{project}/", "projects", "write"),
    ("DELETE", "/api/v1/projects/{project}/", "projects", "write"),
    ("GET", "/api/v1/members/", "members", "read"),
    ("POST", "/api/v1/members/", "members", "write"),
    ("PATCH", "/api/v1/members/{member}/", "members", "write"),
    ("DELETE", "/api/v1/members/{member}/", "members", "write"),
    ("GET", "/api/v1/api-keys/", "api_keys", "read"),
    ("POST", "/api/v1/api-keys/", "api_keys", "write"),
    ("DELETE", "/api/v1/api-keys/{key}/", "api_keys", "write"),
]
WRITE_ENDPOINTS = [e for e in ENDPOINTS if e[0] != "GET"]


def test_every_endpoint_is_in_the_matrix():
    assert {(resource, action) for *_, resource, action in ENDPOINTS} <= set(ROLE_MATRIX)


@pytest.fixture
def targets(tenant, make_member, client_for):
    from django_tenants.utils import tenant_context

    from apps.projects.models import Project
    from tenants.identity.api_keys import create_api_key

    owner = tenant.memberships.get(role=Role.OWNER).user
    with tenant_context(tenant):
        project = Project.objects.create(name="target")
    member = make_member(tenant, Role.VIEWER)
    key, _ = create_api_key(tenant=tenant, name="target", role=Role.VIEWER, actor=owner)
    return {"project": project.pk, "member": member.memberships.get().pk, "key": key.pk}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(("method", "path", "resource", "action"), ENDPOINTS)
def test_endpoint_answers_403_exactly_below_the_required_role(
    tenant, make_member, client_for, targets, role, method, path, resource, action
):
    client = client_for(tenant, make_member(tenant, role))
    response = client.generic(method, path.format(**targets), "{}", content_type="application/json")
    if role.at_least(required_role(resource, action)):
        assert response.status_code != 403, response.content
    else:
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize(("method", "path", "resource", "action"), WRITE_ENDPOINTS)
def test_viewer_is_refused_every_write_endpoint(
    tenant, make_member, client_for, targets, method, path, resource, action
):
    client = client_for(tenant, make_member(tenant, Role.VIEWER))
    response = client.generic(method, path.format(**targets), "{}", content_type="application/json")
    assert response.status_code == 403


def test_anonymous_requests_answer_401_with_a_bearer_challenge(tenant, client_for):
    response = client_for(tenant).get("/api/v1/projects/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")
