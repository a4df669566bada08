"""Projects through the API: roles, tenant isolation, errors."""

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from apps.projects.models import Project
from tenants.roles import Role
from tests.conftest import host_of, token_for
from tests.support.database import wait_for_replica_catch_up


@pytest.fixture
def as_role(tenant, make_member, client_for):
    def make(role: Role):
        client = client_for(tenant, make_member(tenant, role))
        wait_for_replica_catch_up()
        return client

    return make


def test_editor_creates_and_lists_projects(as_role):
    client = as_role(Role.EDITOR)
    created = client.post("/api/v1/projects/", {"name": "cars"}, content_type="application/json")
    assert created.status_code == 201
    wait_for_replica_catch_up()
    listed = client.get("/api/v1/projects/").json()["results"]
    assert [p["name"] for p in listed] == ["cars"]


def test_viewer_cannot_create_a_project(tenant, as_role):
    response = as_role(Role.VIEWER).post(
        "/api/v1/projects/", {"name": "cars"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    with tenant_context(tenant):
        assert not Project.objects.exists()


def test_duplicate_name_answers_409_with_a_code(as_role):
    client = as_role(Role.EDITOR)
    client.post("/api/v1/projects/", {"name": "cars"}, content_type="application/json")
    response = client.post("/api/v1/projects/", {"name": "cars"}, content_type="application/json")
    assert response.status_code == 409
    assert response.json()["code"] == "project_name_taken"


def test_missing_name_answers_400_naming_the_field(as_role):
    response = as_role(Role.EDITOR).post("/api/v1/projects/", {}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "name" in response.json()["fields"]


def test_another_tenants_project_id_answers_404(other_tenant, as_role):
    with tenant_context(other_tenant):
        theirs = Project.objects.create(name="secret")
    client = as_role(Role.OWNER)
    assert client.get(f"/api/v1/projects/{theirs.pk}/").status_code == 404


def test_token_for_another_tenant_is_refused_on_this_tenants_host(
    tenant, other_tenant, make_member
):
    token = token_for(other_tenant, make_member(other_tenant, Role.OWNER))
    client = Client(HTTP_HOST=host_of(tenant), HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get("/api/v1/projects/")
    assert response.status_code == 403
    assert response.json()["code"] == "tenant_mismatch"
