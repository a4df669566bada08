"""One entry point for every credential: a session token (from an API key) or a JWT."""

from __future__ import annotations

from redis.exceptions import RedisError

from tenants.identity.claims import identity_from_claims
from tenants.identity.errors import (
    AuthenticationFailed,
    AuthErrorCode,
    ServiceUnavailable,
)
from tenants.identity.principal import Identity
from tenants.identity.sessions import SESSION_PREFIX, identity_for_session
from tenants.identity.throttle import count_failure
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
    """The identity behind a token; a valid one is never refused for what else came from its
    client. Raises AuthenticationFailed (401), NotAdmitted (403), TooManyFailures (429: it
    failed, and so did too many from its client lately) or ServiceUnavailable (503)."""
    try:
        try:
            if token.startswith(SESSION_PREFIX):
                return identity_for_session(token)
            return identity_from_claims(verify_jwt(token))
        except AuthenticationFailed as exc:
            # Only a credential that fails verification counts: a 403 (verified, not admitted)
            # or a 503 (ours, not the client's) is no guess at one.
            if exc.status == 401:
                count_failure(client)
            raise
    except RedisError as exc:
        raise ServiceUnavailable(
            AuthErrorCode.SERVICE_UNAVAILABLE, "Authentication is unavailable; retry shortly."
        ) from exc
