"""Admins list, invite, change the role of and remove members; an owner is always left."""

import pytest

from tenants.models import Membership, User
from tenants.roles import Role
from tests.support.stored import shown

MEMBERS = "/api/v1/members/"


@pytest.fixture
def owner_client(tenant, client_for):
    return client_for(tenant, tenant.memberships.get(role=Role.OWNER).user)


def test_admin_invites_a_member_by_email(tenant, make_member, client_for):
    client = client_for(tenant, make_member(tenant, Role.ADMIN))
    response = client.post(
        "/api/v1/members/",
        {"email": "New@Example.com", "role": "editor"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert Membership.objects.get(tenant=tenant, user__email="new@example.com").role == "editor"


def test_inviting_twice_answers_409(owner_client):
    body = {"email": "twice@example.com", "role": "viewer"}
    owner_client.post("/api/v1/members/", body, content_type="application/json")
    before = shown(owner_client, MEMBERS)
    response = owner_client.post("/api/v1/members/", body, content_type="application/json")
    assert response.status_code == 409
    assert response.json()["code"] == "already_member"
    assert shown(owner_client, MEMBERS) == before


def test_the_last_owner_cannot_be_removed_or_demoted(tenant, owner_client):
    owner = tenant.memberships.get(role=Role.OWNER)
    before = shown(owner_client, MEMBERS)
    removed = owner_client.delete(f"/api/v1/members/{owner.pk}/")
    demoted = owner_client.patch(
        f"/api/v1/members/{owner.pk}/", {"role": "admin"}, content_type="application/json"
    )
    assert (removed.status_code, demoted.status_code) == (409, 409)
    assert removed.json()["code"] == "last_owner"
    assert shown(owner_client, MEMBERS) == before
    assert [m["role"] for m in before[MEMBERS] if m["id"] == owner.pk] == ["owner"]


def test_an_owner_is_removable_once_another_owner_exists(tenant, make_member, owner_client):
    second = make_member(tenant, Role.OWNER).memberships.get()
    assert owner_client.delete(f"/api/v1/members/{second.pk}/").status_code == 204


def test_an_admin_cannot_remove_an_owner(tenant, make_member, client_for):
    make_member(tenant, Role.OWNER)
    client = client_for(tenant, make_member(tenant, Role.ADMIN))
    owner = tenant.memberships.filter(role=Role.OWNER).first()
    before = shown(client, MEMBERS)
    response = client.delete(f"/api/v1/members/{owner.pk}/")
    assert (response.status_code, response.json()["code"]) == (403, "role_above_yours")
    assert shown(client, MEMBERS) == before


def test_an_editor_cannot_manage_members(tenant, make_member, client_for, owner_client):
    client = client_for(tenant, make_member(tenant, Role.EDITOR))
    invitee = f"invitee-{tenant.slug}@example.com"  # unique: the run's users are shared
    before = shown(owner_client, MEMBERS)
    response = client.post(
        "/api/v1/members/", {"email": invitee, "role": "viewer"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert shown(owner_client, MEMBERS) == before
    assert not User.objects.using("default").filter(email=invitee).exists()


def test_me_answers_user_tenant_and_role(tenant, make_member, client_for):
    user = make_member(tenant, Role.EDITOR)
    me = client_for(tenant, user).get("/api/v1/me/").json()
    assert me["user"]["email"] == user.email
    assert (me["tenant"]["slug"], me["role"], me["via"]) == (tenant.slug, "editor", "jwt")
