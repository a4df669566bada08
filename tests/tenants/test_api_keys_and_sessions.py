"""API keys traded for sessions held in Redis; revocation ends them at once."""

import hashlib
import time

import pytest
from django.db import connections
from django.test import Client, override_settings
from django_tenants.utils import get_public_schema_name

from tenants.models import ApiKey
from tenants.roles import Role
from tests.conftest import host_of
from tests.support.admin_forms import operators_admin, posted_form
from tests.support.database import wait_for_replica_catch_up
from tests.support.queries import queries_by_alias
from tests.support.stored import shown


@pytest.fixture
def admin_client(tenant, make_member, client_for):
    return client_for(tenant, make_member(tenant, Role.ADMIN))


def _create_key(admin_client, role="editor") -> dict:
    response = admin_client.post(
        "/api/v1/api-keys/", {"name": "ci", "role": role}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def _session(tenant, key: str):
    return Client(HTTP_HOST=host_of(tenant)).post("/api/v1/session/", HTTP_X_API_KEY=key)


def _with_session(tenant, token: str) -> Client:
    return Client(HTTP_HOST=host_of(tenant), HTTP_AUTHORIZATION=f"Bearer {token}")


# Column types whose values can hold a key's text: strings, JSON, arrays of strings.
_TEXT_TYPES = ("text", "varchar", "bpchar", "citext", "json", "jsonb", "_text", "_varchar")


def _columns_holding(text: str, *schemas: str) -> list[tuple[str, str, str]]:
    """(schema, table, column) of every column of a table in `schemas` where some row's
    value, as text, contains `text`; read on the primary."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    quote = connections["default"].ops.quote_name
    found = []
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT c.table_schema, c.table_name, c.column_name"
            " FROM information_schema.columns c JOIN information_schema.tables t"
            " ON (t.table_schema, t.table_name) = (c.table_schema, c.table_name)"
            " WHERE t.table_type = 'BASE TABLE' AND c.table_schema = ANY(%s)"
            " AND c.udt_name = ANY(%s) ORDER BY 1, 2, 3",
            [list(schemas), list(_TEXT_TYPES)],
        )
        columns = cursor.fetchall()
        assert columns, f"no text columns found in {schemas}"
        for schema, table, column in columns:
            cursor.execute(
                f"SELECT count(*) FROM {quote(schema)}.{quote(table)}"
                f" WHERE {quote(column)}::text LIKE %s",
                [pattern],
            )
            if cursor.fetchone()[0]:
                found.append((schema, table, column))
    return found


def test_the_key_is_shown_once_and_stored_only_as_a_hash(tenant, admin_client):
    created = _create_key(admin_client)
    stored = ApiKey.objects.using("default").get(pk=created["id"])
    assert stored.key_hash == hashlib.sha256(created["key"].encode()).hexdigest()
    schemas = (tenant.schema_name, get_public_schema_name())
    # The scan finds what is stored (the hash, in its one column), and the plaintext nowhere.
    assert _columns_holding(stored.key_hash, *schemas) == [
        (get_public_schema_name(), ApiKey._meta.db_table, "key_hash")
    ]
    assert _columns_holding(created["key"], *schemas) == []
    listed = admin_client.get("/api/v1/api-keys/").json()
    assert "key" not in listed[0] and listed[0]["prefix"] == created["key"][:10]


def test_a_session_traded_for_a_key_calls_the_api_with_the_keys_role(tenant, admin_client):
    created = _create_key(admin_client, role="editor")
    session = _session(tenant, created["key"])
    assert session.status_code == 201
    client = _with_session(tenant, session.json()["session_token"])
    me = client.get("/api/v1/me/").json()
    assert (me["role"], me["via"], me["api_key"]["id"]) == (
        "editor",
        "api_key_session",
        created["id"],
    )
    wait_for_replica_catch_up()
    assert (
        client.post(
            "/api/v1/projects/", {"name": "by-key"}, content_type="application/json"
        ).status_code
        == 201
    )
    assert ApiKey.objects.get(pk=created["id"]).last_used_at is not None


def test_a_session_authenticates_with_no_database_query(tenant, admin_client):
    token = _session(tenant, _create_key(admin_client)["key"]).json()["session_token"]
    client = _with_session(tenant, token)
    client.get("/api/v1/me/")  # the host's tenant is now cached, as on any warm server
    for alias in connections:
        connections[alias].close()
    with queries_by_alias() as queries:
        assert client.get("/api/v1/me/").status_code == 200
    assert queries["default"] == [] and queries["replica"] == []


def test_a_revoked_keys_session_answers_401_at_once(tenant, admin_client):
    created = _create_key(admin_client)
    token = _session(tenant, created["key"]).json()["session_token"]
    assert admin_client.delete(f"/api/v1/api-keys/{created['id']}/").status_code == 204
    response = _with_session(tenant, token).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "session_expired"
    assert _session(tenant, created["key"]).status_code == 401


def test_a_session_after_its_ttl_answers_401(tenant, admin_client):
    key = _create_key(admin_client)["key"]
    with override_settings(API_SESSION_TTL_SECONDS=1):
        token = _session(tenant, key).json()["session_token"]
    time.sleep(1.5)
    response = _with_session(tenant, token).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "session_expired"


def test_an_unknown_key_answers_401_with_its_code(tenant):
    response = _session(tenant, "lk_not-a-real-key")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_api_key"


def test_a_key_for_another_tenant_is_refused_on_this_host(tenant, other_tenant, admin_client):
    key = _create_key(admin_client)["key"]
    assert _session(other_tenant, key).status_code == 403


def test_an_admin_cannot_mint_an_owner_key(admin_client):
    before = shown(admin_client, "/api/v1/api-keys/")
    response = admin_client.post(
        "/api/v1/api-keys/", {"name": "x", "role": "owner"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "role_above_yours"
    assert shown(admin_client, "/api/v1/api-keys/") == before


def test_deactivating_the_tenant_ends_its_sessions(tenant, admin_client):
    from tenants.services import set_tenant_active

    token = _session(tenant, _create_key(admin_client)["key"]).json()["session_token"]
    set_tenant_active(tenant=tenant, active=False)
    for host in (host_of(tenant), "localhost"):
        response = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/me/")
        assert (response.status_code, response.json()["code"]) == (401, "session_expired")


def _deactivate_in_the_change_form(admin: Client, tenant) -> None:
    page = admin.get(f"/admin/tenants/tenant/{tenant.pk}/change/")
    assert page.status_code == 200, page.content
    form = posted_form(page.content.decode(), "tenant_form", is_active=None)
    saved = admin.post(f"/admin/tenants/tenant/{tenant.pk}/change/", form)
    assert saved.status_code == 302, saved.content.decode()  # 200 would show form errors


def _deactivate_with_the_action(admin: Client, tenant) -> None:
    done = admin.post(
        "/admin/tenants/tenant/",
        {"action": "deactivate", "_selected_action": [str(tenant.pk)], "index": "0"},
    )
    assert done.status_code == 302, done.content.decode()


@pytest.mark.parametrize(
    "deactivate",
    [_deactivate_in_the_change_form, _deactivate_with_the_action],
    ids=["change form", "action"],
)
def test_deactivating_the_tenant_in_the_operators_admin_ends_its_sessions(
    tenant, admin_client, deactivate
):
    token = _session(tenant, _create_key(admin_client)["key"]).json()["session_token"]
    assert _with_session(tenant, token).get("/api/v1/me/").status_code == 200
    admin = operators_admin(tenant)

    deactivate(admin, tenant)

    wait_for_replica_catch_up()
    inactive = admin.get("/admin/tenants/tenant/?is_active__exact=0")
    assert tenant.pk in [t.pk for t in inactive.context["cl"].result_list]
    response = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {token}").get(
        "/api/v1/me/"
    )
    assert (response.status_code, response.json()["code"]) == (401, "session_expired")


def test_removing_a_member_revokes_the_keys_they_made(tenant, make_member, client_for):
    admin = make_member(tenant, Role.ADMIN)
    key = _create_key(client_for(tenant, admin))
    token = _session(tenant, key["key"]).json()["session_token"]
    owner = client_for(tenant, tenant.memberships.get(role=Role.OWNER).user)
    assert owner.delete(f"/api/v1/members/{admin.memberships.get().pk}/").status_code == 204
    assert _with_session(tenant, token).get("/api/v1/me/").status_code == 401
    assert ApiKey.objects.get(pk=key["id"]).revoked_at is not None
