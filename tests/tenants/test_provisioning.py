"""Provisioning tenants by cloning the template schema, and what a tenant's host answers."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_context

from tenants.models import Domain, Membership, Tenant
from tenants.roles import Role
from tenants.services import set_tenant_active
from tests.conftest import host_of


def _tables(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])
        return {row[0] for row in cursor.fetchall()}


def _applied_migrations(schema: str) -> set[tuple[str, str]]:
    with schema_context(schema), connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations")
        return set(cursor.fetchall())


def test_create_tenant_command_clones_the_template(live_db, capsys):
    call_command(
        "create_tenant",
        slug="initech",
        name="Initech",
        domain="initech.localhost",
        owner="peter@example.com",
    )
    tenant = Tenant.objects.get(slug="initech")
    assert "projects_project" in _tables("initech")
    assert _tables("initech") == _tables("tenant_template")
    assert _applied_migrations("initech") == _applied_migrations("tenant_template")
    assert Domain.objects.get(domain="initech.localhost").tenant == tenant
    owner = Membership.objects.get(tenant=tenant)
    assert (owner.user.email, owner.role) == ("peter@example.com", Role.OWNER)
    assert "provisioned in" in capsys.readouterr().out


def _catalog(schema: str) -> set[tuple[str, str]]:
    """The schema's columns, constraints, indexes, triggers and views, each with its name and
    definition (the schema's own name taken out of them)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT 'column', t.relname || '.' || a.attname || ' ' ||
                   format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull || ' ' ||
                   a.attidentity::text || a.attgenerated::text || ' ' ||
                   coalesce(pg_get_expr(d.adbin, d.adrelid), '')
            FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE t.relnamespace = %(s)s::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
            UNION ALL
            SELECT 'constraint', t.relname || ' ' || c.conname || ' ' ||
                   replace(pg_get_constraintdef(c.oid), %(s)s || '.', '')
            FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
            WHERE t.relnamespace = %(s)s::regnamespace
            UNION ALL
            SELECT 'index', replace(pg_get_indexdef(i.indexrelid), %(s)s || '.', '')
            FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
            WHERE t.relnamespace = %(s)s::regnamespace
            UNION ALL
            SELECT 'trigger', replace(pg_get_triggerdef(g.oid), %(s)s || '.', '')
            FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid
            WHERE t.relnamespace = %(s)s::regnamespace AND NOT g.tgisinternal
            UNION ALL
            SELECT 'view', relname || ' ' || replace(pg_get_viewdef(oid), %(s)s || '.', '')
            FROM pg_class
            WHERE relnamespace = %(s)s::regnamespace AND relkind = 'v'
            """,
            {"s": schema},
        )
        return set(cursor.fetchall())


def test_a_tenants_schema_has_every_name_and_definition_of_the_template(live_db, tenant):
    copied, template = _catalog(tenant.schema_name), _catalog("tenant_template")
    assert {kind for kind, _ in template} == {"column", "constraint", "index", "trigger", "view"}
    assert copied == template
    with schema_context(tenant.schema_name), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_content_type")
        (content_types,) = cursor.fetchone()
        cursor.execute("INSERT INTO django_content_type (app_label, model) VALUES ('x', 'y')")
        cursor.execute("SELECT max(id) FROM django_content_type")
        assert cursor.fetchone() == (content_types + 1,)  # its ids go on from the copied rows


def test_template_is_migrated_with_every_tenant_app(live_db):
    assert {"projects_project", "django_migrations", "django_content_type"} <= _tables(
        "tenant_template"
    )


@pytest.mark.parametrize(
    "slug", ["A", "public", "has space", "9lead", "tenant-template", "double--dash", "x"]
)
def test_create_tenant_refuses_a_bad_slug_and_changes_nothing(live_db, slug):
    before = Tenant.objects.count()
    with pytest.raises(CommandError, match="invalid_slug"):
        call_command(
            "create_tenant", slug=slug, name="Bad", domain="bad.localhost", owner="x@example.com"
        )
    assert Tenant.objects.count() == before


def test_create_tenant_refuses_a_taken_domain_and_creates_no_schema(live_db, tenant):
    taken = tenant.get_primary_domain().domain
    with pytest.raises(CommandError, match="domain_taken"):
        call_command(
            "create_tenant", slug="second-co", name="Second", domain=taken, owner="y@example.com"
        )
    assert not Tenant.objects.filter(slug="second-co").exists()
    assert _tables("second_co") == set()


def test_a_slug_whose_schema_a_deleted_tenant_left_is_refused(live_db):
    call_command(
        "create_tenant", slug="gone-co", name="Gone", domain="gone.localhost", owner="g@example.com"
    )
    Tenant.objects.filter(slug="gone-co").delete()  # its schema stays (auto_drop_schema off)
    with pytest.raises(CommandError, match=r"slug_taken.*deleted tenant"):
        call_command(
            "create_tenant",
            slug="gone-co",
            name="New",
            domain="new.localhost",
            owner="n@example.com",
        )
    assert not Tenant.objects.filter(slug="gone-co").exists()
    assert not Domain.objects.filter(domain="new.localhost").exists()


def test_deactivated_tenant_answers_403(tenant, make_member, client_for):
    client = client_for(tenant, make_member(tenant, Role.OWNER))
    assert client.get("/api/v1/projects/").status_code == 200
    set_tenant_active(tenant=tenant, active=False)
    response = client.get("/api/v1/projects/")
    assert response.status_code == 403
    assert response.json()["code"] == "tenant_inactive"


def test_unknown_host_answers_404_never_the_public_schema(live_db):
    from django.test import Client

    response = Client(HTTP_HOST="nobody.localhost").get("/admin/")
    assert response.status_code == 404
    assert response.json()["code"] == "tenant_not_found"


@pytest.mark.parametrize("host", ["nobody.localhost", "localhost", "127.0.0.1"])
def test_api_paths_without_a_token_answer_401_on_any_host(host, tenant, live_db):
    """Unknown, public or tenant host alike: a client is told to sign in, not "no such
    endpoint", and its real endpoints and made-up ones answer the same."""
    from django.test import Client

    client = Client(HTTP_HOST=host)
    for path in ("/api/v1/projects/", "/api/v1/datasets/7/rows/", "/api/v1/no-such-thing/"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response["WWW-Authenticate"] == 'Bearer realm="loupe"'
        assert response.json()["code"] == "not_authenticated"
    tenant_response = Client(HTTP_HOST=host_of(tenant)).get("/api/v1/projects/")
    assert tenant_response.status_code == 401
    assert tenant_response["WWW-Authenticate"] == 'Bearer realm="loupe"'
    assert tenant_response.json()["code"] == "not_authenticated"
