"""Why a request could not be authenticated or admitted, or a key revoked: stable codes,
plain messages."""

from __future__ import annotations

from enum import StrEnum


class AuthErrorCode(StrEnum):
    NOT_AUTHENTICATED = "not_authenticated"
    MALFORMED_TOKEN = "malformed_token"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    UNKNOWN_KEY = "unknown_key"
    INVALID_SIGNATURE = "invalid_signature"
    INVALID_ISSUER = "invalid_issuer"
    INVALID_AUDIENCE = "invalid_audience"
    TOKEN_EXPIRED = "token_expired"
    TOKEN_NOT_YET_VALID = "token_not_yet_valid"
    MISSING_CLAIM = "missing_claim"
    SESSION_EXPIRED = "session_expired"
    INVALID_API_KEY = "invalid_api_key"
    TOO_MANY_FAILURES = "too_many_authentication_failures"
    # Authenticated, but not admitted (403):
    NOT_A_MEMBER = "not_a_member"
    TENANT_MISMATCH = "tenant_mismatch"
    UNKNOWN_TENANT = "unknown_tenant"
    USER_INACTIVE = "user_inactive"
    EMAIL_NOT_VERIFIED = "email_not_verified"
    EMAIL_TAKEN = "email_taken"
    # What authentication needs is missing (503): Redis, any issuer to verify tokens with, or
    # the issuer's answer about a key not cached (it is down, or slower than the timeout).
    SERVICE_UNAVAILABLE = "authentication_unavailable"
    ISSUER_NOT_CONFIGURED = "issuer_not_configured"
    ISSUER_UNAVAILABLE = "issuer_unavailable"


class ApiKeyErrorCode(StrEnum):
    # Redis, which holds the key's sessions, is unreachable: the key stays active (503).
    REVOCATION_UNAVAILABLE = "revocation_unavailable"


class AuthenticationFailed(Exception):
    """The credentials are not acceptable: 401."""

    status = 401

    def __init__(self, code: AuthErrorCode, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


class NotAdmitted(AuthenticationFailed):
    """The credentials are good, but do not admit this request: 403."""

    status = 403


class TooManyFailures(AuthenticationFailed):
    """The credential failed verification, and its client has failed too often lately: 429
    instead of 401. A valid credential is never refused with it."""

    status = 429


class ServiceUnavailable(AuthenticationFailed):
    """What authentication needs (Redis, a configured issuer, the issuer's keys) is missing:
    503, and nothing is counted against the client."""

    status = 503
