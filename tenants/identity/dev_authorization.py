"""The development issuer as an authorization server, for the admins' sign-in: whoever runs
Loupe locally picks a member (no password: only while the development issuer is on, as
anyone with a shell could mint that member's token anyway), and the admin they came from
gets a one-time code to trade, with its PKCE verifier, for an ID token.

An authorization request must come from Loupe's own sign-in: its client id, a redirect to
`/oidc/callback/` on a host Loupe serves, and an S256 challenge. Codes live in Redis for
DEV_ISSUER_CODE_SECONDS and are taken once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from urllib.parse import urlencode, urlsplit

from django.conf import settings

from loupe.redis_client import redis_client
from tenants.hosts import normalise_host
from tenants.identity import dev_issuer
from tenants.models import Domain, Membership, Tenant, User

CALLBACK_PATH = "/oidc/callback/"


class InvalidRequest(Exception):
    """An authorization request, or a code's exchange, refused: `error` is OAuth's code."""

    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error, self.description = error, description


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    state: str
    nonce: str
    code_challenge: str

    @classmethod
    def from_query(cls, query) -> AuthorizationRequest:
        """The request the query string makes. Raises InvalidRequest for one that is not
        Loupe's own sign-in asking for a code with an S256 challenge."""
        if query.get("response_type") != "code":
            raise InvalidRequest("unsupported_response_type", "response_type must be code.")
        if query.get("client_id") != settings.OIDC_RP_CLIENT_ID:
            raise InvalidRequest("unauthorized_client", "This client is not Loupe's admin.")
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            raise InvalidRequest("invalid_request", "A PKCE code_challenge (S256) is required.")
        if not query.get("state"):
            raise InvalidRequest("invalid_request", "A state is required.")
        request = cls(
            client_id=query["client_id"],
            redirect_uri=query.get("redirect_uri", ""),
            state=query["state"],
            nonce=query.get("nonce", ""),
            code_challenge=query["code_challenge"],
        )
        request.tenant()  # a redirect elsewhere is refused here, before any page
        return request

    def tenant(self) -> Tenant:
        """The tenant whose host the redirect goes back to (the public one for the operators'
        admin). Raises InvalidRequest for a redirect to anywhere else."""
        parts = urlsplit(self.redirect_uri)
        domain = (
            Domain.objects.using("default")
            .select_related("tenant")
            .filter(domain=normalise_host(parts.hostname or ""))
            .first()
        )
        known = domain is not None and domain.tenant.is_active
        if parts.scheme not in ("http", "https") or parts.path != CALLBACK_PATH or not known:
            raise InvalidRequest(
                "invalid_request", f"redirect_uri must be {CALLBACK_PATH} on a host Loupe serves."
            )
        return domain.tenant

    def who_may_sign_in(self) -> list[tuple[User, str]]:
        """Those the page offers, with what they are: the tenant's members and their roles,
        or on the public host the operators."""
        tenant = self.tenant()
        if tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
            operators = User.objects.using("default").filter(is_active=True, is_superuser=True)
            return [(user, "operator") for user in operators.order_by("email")]
        members = (
            Membership.objects.using("default")
            .filter(tenant=tenant, user__is_active=True)
            .select_related("user")
            .order_by("user__email")
        )
        return [(member.user, member.role) for member in members]

    def redirect_with_code(self, user: User) -> str:
        """Where the browser goes once `user` is picked: back, with a new code."""
        code = secrets.token_urlsafe(32)
        grant = _Grant(
            client_id=self.client_id,
            redirect_uri=self.redirect_uri,
            nonce=self.nonce,
            code_challenge=self.code_challenge,
            subject=user.subject or f"dev|{user.email}",
            email=user.email,
        )
        redis_client().set(
            _code_key(code), json.dumps(asdict(grant)), ex=settings.DEV_ISSUER_CODE_SECONDS
        )
        return f"{self.redirect_uri}?{urlencode({'code': code, 'state': self.state})}"


@dataclass(frozen=True)
class _Grant:
    client_id: str
    redirect_uri: str
    nonce: str
    code_challenge: str
    subject: str
    email: str


def exchange_code(form) -> dict:
    """The token response for a code, taken once. Raises InvalidRequest when the grant is
    unknown, used, expired, or was made for another client, redirect or verifier."""
    if form.get("grant_type") != "authorization_code":
        raise InvalidRequest("unsupported_grant_type", "grant_type must be authorization_code.")
    stored = redis_client().getdel(_code_key(form.get("code", "")))
    if stored is None:
        raise InvalidRequest("invalid_grant", "The code is unknown, used or expired.")
    grant = _Grant(**json.loads(stored))
    if (form.get("client_id"), form.get("redirect_uri")) != (grant.client_id, grant.redirect_uri):
        raise InvalidRequest("invalid_grant", "The code was issued to another client or redirect.")
    if not hmac.compare_digest(_challenge(form.get("code_verifier", "")), grant.code_challenge):
        raise InvalidRequest("invalid_grant", "The code_verifier does not match the challenge.")
    id_token = dev_issuer.issue_id_token(
        subject=grant.subject, email=grant.email, audience=grant.client_id, nonce=grant.nonce
    )
    return {
        "access_token": secrets.token_urlsafe(32),
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _code_key(code: str) -> str:
    digest = hashlib.sha256(code.encode()).hexdigest()
    return f"{settings.REDIS_KEY_PREFIX}:dev-issuer:code:{digest}"
