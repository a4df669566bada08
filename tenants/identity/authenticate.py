"""One entry point for every credential: a session token (from an API key) or a JWT."""

from __future__ import annotations

from redis.exceptions import RedisError

from tenants.identity.claims import identity_from_claims
from tenants.identity.errors import (
    AuthenticationFailed,
    AuthErrorCode,
    ServiceUnavailable,
    TooManyFailures,
)
from tenants.identity.principal import Identity
from tenants.identity.sessions import SESSION_PREFIX, identity_for_session
from tenants.identity.throttle import is_throttled, record_failure
from tenants.identity.tokens import verify_jwt


def bearer_token(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, None when there is none."""
    scheme, _, token = authorization.strip().partition(" ")
    if not scheme:
        return None
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed(
            AuthErrorCode.MALFORMED_TOKEN, "Send credentials as 'Authorization: Bearer <token>'."
        )
    return token.strip()


def authenticate_token(token: str, *, client: str) -> Identity:
    """The identity behind a token. Raises AuthenticationFailed (401) or NotAdmitted (403);
    failures count towards the client's throttle."""
    try:
        if is_throttled(client):
            raise TooManyFailures(
                AuthErrorCode.TOO_MANY_FAILURES, "Too many failed authentications; wait a minute."
            )
        try:
            if token.startswith(SESSION_PREFIX):
                return identity_for_session(token)
            return identity_from_claims(verify_jwt(token))
        except AuthenticationFailed:
            record_failure(client)
            raise
    except RedisError as exc:
        raise ServiceUnavailable(
            AuthErrorCode.SERVICE_UNAVAILABLE, "Authentication is unavailable; retry shortly."
        ) from exc
