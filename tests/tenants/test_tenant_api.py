"""`/api/v1/tenant/`: the tenant's own name, read by members and changed by its owners."""

from tenants.roles import Role


def test_an_owner_renames_the_tenant_again_and_again(tenant, make_member, client_for):
    """Each request after the first finds the tenant in the host cache: a rename changes the
    stored tenant all the same, and the next request sees the new name."""
    owner = client_for(tenant, make_member(tenant, Role.OWNER))
    for name in ("Acme Vision", "Acme Vision Labs", "Acme"):
        renamed = owner.patch("/api/v1/tenant/", {"name": name}, content_type="application/json")
        assert (renamed.status_code, renamed.json()["name"]) == (200, name), renamed.content
        assert owner.get("/api/v1/tenant/").json() == {"slug": tenant.slug, "name": name}


def test_a_name_that_is_not_a_string_is_refused_and_nothing_changes(
    tenant, make_member, client_for
):
    owner = client_for(tenant, make_member(tenant, Role.OWNER))
    before = owner.get("/api/v1/tenant/").json()
    for name in (0, True, ["Acme"], "x" * 201):
        refused = owner.patch("/api/v1/tenant/", {"name": name}, content_type="application/json")
        assert refused.status_code == 400, name
        assert (refused.json()["code"], list(refused.json()["fields"])) == ("invalid", ["name"])
    assert owner.get("/api/v1/tenant/").json() == before
