"""Operators manage tenants on the public host; a tenant's admins manage its own data."""

from django.test import Client
from django_tenants.utils import tenant_context

from apps.projects.models import Project
from tenants.models import User
from tenants.roles import Role
from tests.support.database import wait_for_replica_catch_up


def test_operator_manages_tenants_on_the_public_host(tenant):
    operator = User.objects.create_superuser(f"op-{tenant.slug}@example.com", "pw")
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)
    wait_for_replica_catch_up()
    response = client.get("/admin/tenants/tenant/")
    assert response.status_code == 200
    assert tenant.slug in response.content.decode()


def test_public_admin_refuses_a_tenant_owner(tenant, make_member):
    client = Client(HTTP_HOST="localhost")
    client.force_login(make_member(tenant, Role.OWNER))
    assert client.get("/admin/tenants/tenant/").status_code == 302  # to the login page


def test_tenant_admin_shows_that_tenants_projects_only(
    tenant, other_tenant, make_member, client_for
):
    for each in (tenant, other_tenant):
        with tenant_context(each):
            Project.objects.create(name=f"project-of-{each.slug}")
    client = client_for(tenant, make_member(tenant, Role.ADMIN))
    wait_for_replica_catch_up()
    page = client.get("/admin/projects/project/").content.decode()
    assert f"project-of-{tenant.slug}" in page
    assert f"project-of-{other_tenant.slug}" not in page


def test_tenant_admin_refuses_an_editor(tenant, make_member, client_for):
    client = client_for(tenant, make_member(tenant, Role.EDITOR))
    assert client.get("/admin/projects/project/").status_code == 302


def test_tenant_admin_logs_in_an_owner_by_password(tenant):
    owner = tenant.memberships.get(role=Role.OWNER).user
    owner.set_password("s3cret-pass")
    owner.save()
    wait_for_replica_catch_up()
    client = Client(HTTP_HOST=tenant.get_primary_domain().domain)
    response = client.post(
        "/admin/login/?next=/admin/", {"username": owner.email, "password": "s3cret-pass"}
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
