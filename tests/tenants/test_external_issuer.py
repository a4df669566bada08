"""Tokens from an external OpenID Connect issuer, verified through its JWKS."""

import pytest
from django.test import Client, override_settings

from tenants.models import Membership, User
from tenants.roles import Role
from tests.conftest import host_of
from tests.support.database import wait_for_replica_catch_up
from tests.support.issuer import ExternalIssuer, SigningKey


@pytest.fixture
def issuer(live_db):
    with (
        ExternalIssuer() as issuer,
        override_settings(OIDC_ISSUER=issuer.url, OIDC_JWKS_MIN_REFRESH_SECONDS=3600),
    ):
        yield issuer


def _me(tenant, token: str):
    return Client(HTTP_HOST=host_of(tenant), HTTP_AUTHORIZATION=f"Bearer {token}").get(
        "/api/v1/me/"
    )


@pytest.mark.parametrize("key_index", [0, 1], ids=["RS256", "ES256"])
def test_member_signs_in_with_the_external_issuers_token(issuer, tenant, make_member, key_index):
    member = make_member(tenant, Role.EDITOR)
    wait_for_replica_catch_up()
    response = _me(tenant, issuer.token(key_index, email=member.email, tenant=tenant.slug))
    assert response.status_code == 200, response.content
    assert response.json()["role"] == "editor"
    member.refresh_from_db()
    assert member.subject == f"ext|{member.email}"


def test_unknown_user_without_membership_is_created_then_refused(issuer, tenant):
    response = _me(tenant, issuer.token(email="new@example.com", tenant=tenant.slug, role="owner"))
    assert response.status_code == 403
    assert response.json()["code"] == "not_a_member"
    assert User.objects.filter(email="new@example.com").exists()
    assert not Membership.objects.filter(tenant=tenant, user__email="new@example.com").exists()


@override_settings(OIDC_GRANT_MEMBERSHIP_FROM_CLAIMS=True)
def test_membership_is_granted_from_claims_where_configured(issuer, tenant):
    response = _me(
        tenant, issuer.token(email="granted@example.com", tenant=tenant.slug, role="editor")
    )
    assert response.status_code == 200
    assert Membership.objects.get(tenant=tenant, user__email="granted@example.com").role == "editor"


def test_a_rotated_key_is_found_by_refetching_the_jwks_once(issuer, tenant, make_member):
    member = make_member(tenant, Role.VIEWER)
    wait_for_replica_catch_up()
    assert _me(tenant, issuer.token(email=member.email, tenant=tenant.slug)).status_code == 200
    fetches = issuer.fetches["jwks"]
    rotated = SigningKey("RS256")
    issuer.keys.append(rotated)
    token = rotated.sign(issuer.claims(email=member.email, tenant=tenant.slug))
    with override_settings(OIDC_JWKS_MIN_REFRESH_SECONDS=0):
        assert _me(tenant, token).status_code == 200
    assert issuer.fetches["jwks"] == fetches + 1


def test_unknown_kids_do_not_hammer_the_issuer(issuer, tenant, make_member):
    member = make_member(tenant, Role.VIEWER)
    wait_for_replica_catch_up()
    assert _me(tenant, issuer.token(email=member.email, tenant=tenant.slug)).status_code == 200
    fetches = issuer.fetches["jwks"]
    stranger = SigningKey("RS256")
    for _ in range(5):
        response = _me(tenant, stranger.sign(issuer.claims(email=member.email, tenant=tenant.slug)))
        assert response.status_code == 401
        assert response.json()["code"] == "unknown_key"
    assert issuer.fetches["jwks"] == fetches  # within OIDC_JWKS_MIN_REFRESH_SECONDS: no refetch


def test_an_unverified_email_cannot_claim_an_invited_account(issuer, tenant, make_member):
    invited = make_member(tenant, Role.ADMIN)  # invited by e-mail: no subject yet
    wait_for_replica_catch_up()
    token = issuer.keys[0].sign(
        issuer.claims(email=invited.email, tenant=tenant.slug, email_verified=False)
    )
    response = _me(tenant, token)
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "email_not_verified"
    invited.refresh_from_db()
    assert invited.subject is None


def test_a_deactivated_user_is_refused(issuer, tenant, make_member):
    member = make_member(tenant, Role.VIEWER)
    member.is_active = False
    member.save()
    wait_for_replica_catch_up()
    response = _me(tenant, issuer.token(email=member.email, tenant=tenant.slug))
    assert (response.status_code, response.json()["code"]) == (403, "user_inactive")
