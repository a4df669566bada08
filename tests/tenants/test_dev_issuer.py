"""The development issuer: its discovery document, JWKS, and `manage.py issue_token`."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from tests.conftest import host_of


def test_discovery_document_points_at_the_jwks(live_db):
    client = Client(HTTP_HOST="localhost")
    discovery = client.get("/.well-known/openid-configuration").json()
    assert discovery["jwks_uri"].endswith("/.well-known/jwks.json")
    keys = client.get("/.well-known/jwks.json").json()["keys"]
    assert keys[0]["kty"] == "RSA" and "d" not in keys[0]


def test_issue_token_prints_a_token_the_api_accepts(tenant):
    out = io.StringIO()
    call_command(
        "issue_token", tenant=tenant.slug, email="dev@example.com", role="editor", stdout=out
    )
    client = Client(
        HTTP_HOST=host_of(tenant), HTTP_AUTHORIZATION=f"Bearer {out.getvalue().strip()}"
    )
    me = client.get("/api/v1/me/").json()
    assert (me["user"]["email"], me["role"]) == ("dev@example.com", "editor")


def test_issue_token_refuses_an_unknown_tenant(live_db):
    with pytest.raises(CommandError, match="no tenant"):
        call_command("issue_token", tenant="nobody", email="a@example.com")
