"""The development issuer: its discovery document, JWKS, and `manage.py issue_token`; off
unless asked for, and never started with DEBUG off unless forced."""

import io
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from tests.conftest import host_of, token_for
from tests.support import processes

# A deployment's environment that asks for the development issuer.
DEPLOYED_WITH_DEV_ISSUER = {
    "DEBUG": "false",
    "OIDC_ISSUER": "",
    "DEV_ISSUER_ENABLED": "true",
    "DEV_ISSUER_ALLOW_WITHOUT_DEBUG": "false",
}


def _manage_check(env: dict) -> subprocess.CompletedProcess:
    """`manage.py check` in a process of its own, in the tests' environment with `env` on top."""
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=processes.ROOT,
        env=processes.process_env() | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


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


def test_with_debug_off_the_dev_issuer_refuses_to_start():
    result = _manage_check(DEPLOYED_WITH_DEV_ISSUER)
    assert result.returncode != 0
    assert "DEV_ISSUER_ENABLED is on with DEBUG off" in result.stderr
    assert "Set OIDC_ISSUER" in result.stderr


@pytest.mark.parametrize(
    "change",
    [
        {"DEBUG": "true"},
        {"DEV_ISSUER_ALLOW_WITHOUT_DEBUG": "true"},
        {"DEV_ISSUER_ENABLED": "false"},
    ],
    ids=["debug-on", "forced", "dev-issuer-off"],
)
def test_it_starts_with_debug_on_when_forced_or_with_the_dev_issuer_off(change):
    result = _manage_check(DEPLOYED_WITH_DEV_ISSUER | change)
    assert result.returncode == 0, result.stderr


@override_settings(DEV_ISSUER_ENABLED=False)
def test_with_no_issuer_configured_a_token_is_refused_saying_what_to_set(tenant, make_member):
    token = token_for(tenant, make_member(tenant))
    response = Client(HTTP_HOST=host_of(tenant), HTTP_AUTHORIZATION=f"Bearer {token}").get(
        "/api/v1/me/"
    )
    assert (response.status_code, response.json()["code"]) == (503, "issuer_not_configured")
    assert "set OIDC_ISSUER" in response.json()["detail"]


@override_settings(DEV_ISSUER_ENABLED=False)
@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/.well-known/jwks.json"])
def test_with_the_dev_issuer_off_it_publishes_nothing(live_db, path):
    assert Client(HTTP_HOST="localhost").get(path).status_code == 404


@override_settings(DEV_ISSUER_ENABLED=False)
def test_issue_token_refuses_with_the_dev_issuer_off(tenant):
    with pytest.raises(CommandError, match="DEV_ISSUER_ENABLED"):
        call_command("issue_token", tenant=tenant.slug, email="a@example.com")
