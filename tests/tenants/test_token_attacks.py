"""Every bad token sent to the running server answers 401 with a Bearer challenge and a code;
good tokens in the wrong place answer 403 or 404."""

import time

import httpx
import pytest
from django_tenants.utils import tenant_context

from apps.projects.models import Project
from tenants.roles import Role
from tests.conftest import host_of, token_for
from tests.support import tokens
from tests.support.database import wait_for_replica_catch_up
from tests.support.issuer import SigningKey


@pytest.fixture
def member(tenant, make_member):
    user = make_member(tenant, Role.OWNER)
    wait_for_replica_catch_up()
    return user


def _get(asgi_server, tenant, token: str, path: str = "/api/v1/me/") -> httpx.Response:
    return httpx.get(
        f"{asgi_server.url}{path}",
        headers={"Host": host_of(tenant), "Authorization": f"Bearer {token}"},
    )


def _assert_401(response: httpx.Response, code: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["code"] == code
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def _claims(tenant, member, **overrides):
    return tokens.dev_claims(email=member.email, tenant=tenant.slug, **overrides)


def test_a_good_token_is_accepted(asgi_server, tenant, member):
    response = _get(asgi_server, tenant, tokens.dev_signed(_claims(tenant, member)))
    assert response.status_code == 200, response.text


def test_alg_none_is_refused(asgi_server, tenant, member):
    _assert_401(
        _get(asgi_server, tenant, tokens.unsigned(_claims(tenant, member))), "unsupported_algorithm"
    )


def test_hs256_signed_with_the_public_key_is_refused(asgi_server, tenant, member):
    token = tokens.hs256_with_public_key(_claims(tenant, member))
    _assert_401(_get(asgi_server, tenant, token), "unsupported_algorithm")


def test_an_es256_header_over_the_rsa_key_is_refused(asgi_server, tenant, member):
    token = tokens.dev_signed(_claims(tenant, member))
    header = tokens.with_header(token, alg="ES256")
    _assert_401(_get(asgi_server, tenant, header), "unsupported_algorithm")


def test_a_non_string_kid_is_refused_not_a_500(asgi_server, tenant, member):
    token = tokens.with_header(tokens.dev_signed(_claims(tenant, member)), kid=42)
    response = _get(asgi_server, tenant, token)
    assert response.status_code == 401


def test_a_kid_naming_another_issuers_key_is_refused(asgi_server, tenant, member):
    token = SigningKey("RS256").sign(_claims(tenant, member))
    _assert_401(_get(asgi_server, tenant, token), "unknown_key")


def test_a_forged_signature_is_refused(asgi_server, tenant, member):
    token = tokens.with_forged_payload(
        tokens.dev_signed(_claims(tenant, member)), role="owner", sub="x"
    )
    _assert_401(_get(asgi_server, tenant, token), "invalid_signature")


def test_a_wrong_issuer_is_refused(asgi_server, tenant, member):
    token = tokens.dev_signed(_claims(tenant, member, iss="https://evil.example"))
    _assert_401(_get(asgi_server, tenant, token), "invalid_issuer")


def test_a_wrong_audience_is_refused(asgi_server, tenant, member):
    token = tokens.dev_signed(_claims(tenant, member, aud="another-api"))
    _assert_401(_get(asgi_server, tenant, token), "invalid_audience")


def test_an_expired_token_is_refused(asgi_server, tenant, member):
    past = int(time.time()) - 3600
    token = tokens.dev_signed(_claims(tenant, member, iat=past - 600, nbf=past - 600, exp=past))
    _assert_401(_get(asgi_server, tenant, token), "token_expired")


def test_a_token_not_valid_yet_is_refused(asgi_server, tenant, member):
    token = tokens.dev_signed(_claims(tenant, member, nbf=int(time.time()) + 3600))
    _assert_401(_get(asgi_server, tenant, token), "token_not_yet_valid")


def test_a_string_exp_is_refused(asgi_server, tenant, member):
    token = tokens.dev_signed(_claims(tenant, member, exp=str(int(time.time()) + 600)))
    _assert_401(_get(asgi_server, tenant, token), "malformed_token")


def test_garbage_is_refused(asgi_server, tenant):
    _assert_401(_get(asgi_server, tenant, "not-a-token"), "malformed_token")


def test_a_token_for_tenant_a_on_tenant_bs_host_is_refused(
    asgi_server, tenant, other_tenant, member
):
    response = _get(asgi_server, other_tenant, token_for(tenant, member))
    assert response.status_code == 403
    assert response.json()["code"] == "tenant_mismatch"


def test_a_member_of_a_gets_404_for_bs_project_ids(asgi_server, tenant, other_tenant, member):
    with tenant_context(other_tenant):
        theirs = Project.objects.create(name="theirs")
    response = _get(
        asgi_server, tenant, token_for(tenant, member), f"/api/v1/projects/{theirs.pk}/"
    )
    assert response.status_code == 404


def test_a_member_of_a_gets_404_for_bs_membership_ids(asgi_server, tenant, other_tenant, member):
    theirs = other_tenant.memberships.get()
    response = httpx.patch(
        f"{asgi_server.url}/api/v1/members/{theirs.pk}/",
        json={"role": "viewer"},
        headers={"Host": host_of(tenant), "Authorization": f"Bearer {token_for(tenant, member)}"},
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.role == Role.OWNER
