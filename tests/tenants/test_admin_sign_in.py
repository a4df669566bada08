"""Signing in to both admins through the issuer, as a browser does, against the real server:
the admin's login page sends you to the development issuer, you pick who you are, and the
code comes back to be traded with its PKCE verifier. A tenant's admin opens to its admins
and owners, the operators' to superusers; the issuer offers a tenant's own members alone and
returns only to the hosts Loupe serves."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tenants.models import User
from tenants.roles import Role
from tests.conftest import host_of
from tests.support import processes
from tests.support.browser_http import BrowserHttp, csrf_token, link
from tests.support.database import wait_for_replica_catch_up


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory):
    """The API's server as `make run` starts it, its issuer at its own address."""
    port = processes.free_port()
    log = tmp_path_factory.mktemp("sign-in") / "server.log"
    env = {"PUBLIC_URL": f"http://localhost:{port}"}
    with processes.asgi_server(log, env=env, port=port) as running:
        yield running


@pytest.fixture
def browser(server):
    browser = BrowserHttp(server.port)
    yield browser
    browser.close()


def _to_the_issuer(browser, server, host: str) -> str:
    """From the admin's login page to the issuer's page: its URL."""
    admin = f"http://{host}:{server.port}"
    login = browser.follow(browser.get(f"{admin}/admin/"))
    assert login.status_code == 200 and "Sign in with your identity provider" in login.text
    start = browser.get(f"{admin}{link(login.text, 'Sign in with your identity provider')}")
    assert start.status_code == 302
    to_issuer = start.headers["location"]
    asked = parse_qs(urlsplit(to_issuer).query)
    assert to_issuer.startswith(f"http://localhost:{server.port}/dev-issuer/authorize/?")
    assert asked["code_challenge_method"] == ["S256"] and asked["code_challenge"]
    assert asked["state"] and asked["nonce"] and asked["response_type"] == ["code"]
    assert asked["redirect_uri"] == [f"{admin}/oidc/callback/"]
    return to_issuer


def _pick(browser, issuer_page_url: str, user: User):
    page = browser.get(issuer_page_url)
    assert page.status_code == 200, page.text
    return browser.post(
        issuer_page_url, {"user": str(user.pk), "csrfmiddlewaretoken": csrf_token(page.text)}
    )


def _signed_in(browser, server, host: str, user: User):
    """Through the whole flow as `user`: the admin's index as it then answers."""
    wait_for_replica_catch_up()
    back = _pick(browser, _to_the_issuer(browser, server, host), user)
    assert back.status_code == 302
    assert back.headers["location"].startswith(f"http://{host}:{server.port}/oidc/callback/?")
    landed = browser.follow(back)
    assert landed.status_code == 302 and landed.headers["location"] == "/admin/", landed.text
    return browser.follow(landed)


def test_a_tenant_owner_with_no_password_signs_in_to_the_tenant_admin(
    browser, server, tenant, make_member
):
    owner = make_member(tenant, Role.OWNER)
    assert not owner.has_usable_password()
    admin = _signed_in(browser, server, host_of(tenant), owner)
    assert admin.status_code == 200
    assert f"Loupe: {tenant.name}" in admin.text and owner.email in admin.text


def test_a_viewer_is_signed_in_but_not_let_into_the_tenant_admin(
    browser, server, tenant, make_member
):
    viewer = make_member(tenant, Role.VIEWER)
    refused = _signed_in(browser, server, host_of(tenant), viewer)
    assert refused.status_code == 302 and "/admin/login/" in refused.headers["location"]
    page = browser.follow(refused).text
    assert f"You are authenticated as {viewer.email}" in page


def test_the_issuer_offers_the_tenants_own_members_alone(
    browser, server, tenant, other_tenant, make_member
):
    ours, theirs = make_member(tenant, Role.ADMIN), make_member(other_tenant, Role.OWNER)
    wait_for_replica_catch_up()
    to_issuer = _to_the_issuer(browser, server, host_of(tenant))
    page = browser.get(to_issuer).text
    assert ours.email in page and theirs.email not in page
    refused = _pick(browser, to_issuer, theirs)
    assert refused.status_code == 200 and "That person cannot sign in here" in refused.text


def test_an_operator_signs_in_to_the_operators_admin_and_a_tenant_owner_cannot(
    browser, server, tenant, make_member
):
    operator = User.objects.create_superuser(f"op-{tenant.slug}@example.com", None)
    owner = make_member(tenant, Role.OWNER)
    wait_for_replica_catch_up()
    to_issuer = _to_the_issuer(browser, server, "localhost")
    page = browser.get(to_issuer).text
    assert operator.email in page and owner.email not in page
    admin = _signed_in(browser, server, "localhost", operator)
    assert admin.status_code == 200 and "Loupe operations" in admin.text


def _authorize_url(server, tenant, challenge: str, **changes) -> str:
    query = {
        "response_type": "code",
        "client_id": "loupe-admin",
        "redirect_uri": f"http://{host_of(tenant)}:{server.port}/oidc/callback/",
        "state": "s",
        "nonce": "n",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **changes,
    }
    return f"http://localhost:{server.port}/dev-issuer/authorize/?{urlencode(query)}"


def test_a_code_is_traded_once_and_only_with_its_verifier(browser, server, tenant, make_member):
    owner = make_member(tenant, Role.OWNER)
    wait_for_replica_catch_up()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    url = _authorize_url(server, tenant, challenge.rstrip(b"=").decode())
    back = _pick(browser, url, owner)
    code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
    token_url = f"http://localhost:{server.port}/dev-issuer/token/"
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": "loupe-admin",
        "redirect_uri": f"http://{host_of(tenant)}:{server.port}/oidc/callback/",
    }
    wrong = browser.post(token_url, {**form, "code_verifier": secrets.token_urlsafe(48)})
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    # A refused exchange spends the code: a guesser gets one try.
    again = browser.post(token_url, {**form, "code_verifier": verifier})
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")

    back = _pick(browser, url, owner)
    code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
    traded = browser.post(token_url, {**form, "code": code, "code_verifier": verifier})
    assert traded.status_code == 200, traded.text
    assert traded.json()["token_type"] == "Bearer" and traded.json()["id_token"]
    replayed = browser.post(token_url, {**form, "code": code, "code_verifier": verifier})
    assert (replayed.status_code, replayed.json()["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"redirect_uri": "http://evil.example/oidc/callback/"}, "invalid_request"),
        ({"redirect_uri": "http://localhost/elsewhere/"}, "invalid_request"),
        ({"client_id": "someone-else"}, "unauthorized_client"),
        ({"code_challenge": ""}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
def test_an_authorization_request_not_from_loupes_sign_in_is_refused_without_a_redirect(
    browser, server, tenant, changes, error
):
    response = browser.get(_authorize_url(server, tenant, "c" * 43, **changes))
    assert response.status_code == 400 and response.text.startswith(f"{error}: ")
    assert "location" not in response.headers
