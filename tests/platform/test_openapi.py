"""The OpenAPI document describes every endpoint, with no generator warnings."""

import io

import pytest
from django.core.management import call_command


def test_openapi_schema_generates_without_warnings_and_validates(live_db):
    out = io.StringIO()
    call_command(
        "spectacular", urlconf="loupe.urls_api", validate=True, fail_on_warn=True, stdout=out
    )
    schema = out.getvalue()
    for path in (
        "/api/v1/me/",
        "/api/v1/members/",
        "/api/v1/api-keys/",
        "/api/v1/session/",
        "/api/v1/projects/",
    ):
        assert f"  {path}:" in schema


@pytest.mark.parametrize("host", ["localhost", "acme-docs.localhost"])
def test_docs_are_served(host, make_tenant):
    from django.test import Client

    if host != "localhost":
        make_tenant(slug="acme-docs")
    client = Client(HTTP_HOST=host)
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
