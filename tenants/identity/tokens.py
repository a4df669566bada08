"""Verifying a bearer JWT against the configured issuer's keys.

One path for every issuer: the development issuer's keys are read locally, an external
issuer's are fetched from its JWKS; everything after that (algorithm allow-list, key type,
signature, iss, aud, exp, nbf) is the same code.
"""

from __future__ import annotations

from collections.abc import Callable

import jwt
from django.conf import settings

from tenants.identity import dev_issuer
from tenants.identity.errors import AuthenticationFailed, AuthErrorCode, ServiceUnavailable
from tenants.identity.jwks import JwksCache, discover_jwks_url, fetch_json

_caches: dict[tuple[str, str], JwksCache] = {}

_ERRORS: list[tuple[type[Exception], AuthErrorCode, str]] = [
    (jwt.ExpiredSignatureError, AuthErrorCode.TOKEN_EXPIRED, "The token has expired."),
    (
        jwt.ImmatureSignatureError,
        AuthErrorCode.TOKEN_NOT_YET_VALID,
        "The token is not valid yet (nbf).",
    ),
    (
        jwt.InvalidAudienceError,
        AuthErrorCode.INVALID_AUDIENCE,
        "The token is not meant for this API (aud).",
    ),
    (
        jwt.InvalidIssuerError,
        AuthErrorCode.INVALID_ISSUER,
        "The token comes from another issuer (iss).",
    ),
    (
        jwt.MissingRequiredClaimError,
        AuthErrorCode.MISSING_CLAIM,
        "The token lacks a required claim.",
    ),
    (
        jwt.InvalidSignatureError,
        AuthErrorCode.INVALID_SIGNATURE,
        "The token's signature does not verify.",
    ),
]
_NUMERIC_CLAIMS = ("exp", "nbf", "iat")


def uses_dev_issuer() -> bool:
    """Whether Loupe verifies its own tokens: the development issuer is enabled, and no
    external issuer is configured (which takes precedence)."""
    return settings.DEV_ISSUER_ENABLED and not settings.OIDC_ISSUER


def configured_issuer() -> str:
    """The issuer tokens must come from. Raises ServiceUnavailable when there is none: no
    token can verify, and the message says what to configure."""
    if settings.OIDC_ISSUER:
        return settings.OIDC_ISSUER.rstrip("/")
    if uses_dev_issuer():
        return dev_issuer.issuer_id()
    raise ServiceUnavailable(
        AuthErrorCode.ISSUER_NOT_CONFIGURED,
        "No token issuer is configured: set OIDC_ISSUER to your OpenID Connect provider "
        "(or, for local use only, DEV_ISSUER_ENABLED=true for Loupe's development issuer).",
    )


def key_set() -> JwksCache:
    """The configured issuer's keys: one cache per issuer, shared by every request."""
    issuer = configured_issuer()
    cache_key = (issuer, settings.OIDC_JWKS_URL)
    cache = _caches.get(cache_key)
    if cache is None:
        # setdefault: of concurrent first requests, all share one cache, hence one fetch.
        cache = _caches.setdefault(cache_key, JwksCache(_loader(issuer)))
    return cache


def _loader(issuer: str) -> Callable[[float], dict]:
    if uses_dev_issuer():
        return lambda deadline: dev_issuer.jwks_document()  # read locally: nothing to wait on

    def load(deadline: float) -> dict:
        url = settings.OIDC_JWKS_URL or discover_jwks_url(issuer, deadline=deadline)
        return fetch_json(url, deadline=deadline)

    return load


def verify_jwt(token: str, *, audience: str | None = None) -> dict:
    """The token's claims, once signature, algorithm, iss, aud (OIDC_AUDIENCE, or `audience`:
    an ID token's is the client it was issued to), exp and nbf all check out. Raises
    AuthenticationFailed with a code saying which check failed, or ServiceUnavailable when no
    issuer is configured or its keys cannot be fetched."""
    issuer = configured_issuer()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:  # DecodeError, and a bad kid or crit header
        raise AuthenticationFailed(
            AuthErrorCode.MALFORMED_TOKEN, "The token is not a well-formed JWT."
        ) from exc
    algorithm = header.get("alg")
    if algorithm not in settings.OIDC_ALGORITHMS:
        raise AuthenticationFailed(
            AuthErrorCode.UNSUPPORTED_ALGORITHM,
            f"Tokens signed with {algorithm!r} are not accepted; use one of "
            f"{', '.join(settings.OIDC_ALGORITHMS)}.",
        )
    key = key_set().key_for(header.get("kid"))
    if key.algorithm_name != algorithm:
        raise AuthenticationFailed(
            AuthErrorCode.UNSUPPORTED_ALGORITHM,
            f"The token says {algorithm} but its key is for {key.algorithm_name}.",
        )
    try:
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[algorithm],
            audience=audience or settings.OIDC_AUDIENCE,
            issuer=issuer,
            leeway=settings.OIDC_LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.InvalidTokenError as exc:
        for error_type, code, detail in _ERRORS:
            if isinstance(exc, error_type):
                raise AuthenticationFailed(code, detail) from exc
        raise AuthenticationFailed(
            AuthErrorCode.MALFORMED_TOKEN, f"The token is invalid: {exc}"
        ) from exc
    for name in _NUMERIC_CLAIMS:
        if name in claims and not isinstance(claims[name], int | float):
            raise AuthenticationFailed(
                AuthErrorCode.MALFORMED_TOKEN, f"The {name} claim must be a number."
            )
    return claims
