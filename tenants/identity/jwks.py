"""Signing keys of an OpenID Connect issuer, fetched from its JWKS and cached.

An unknown key id triggers one refetch, at most every OIDC_JWKS_MIN_REFRESH_SECONDS, so a
flood of tokens with made-up key ids cannot turn into a flood of requests to the issuer.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable

from django.conf import settings
from jwt import PyJWK, PyJWKSet
from jwt.exceptions import PyJWKError, PyJWKSetError

from tenants.identity.errors import AuthenticationFailed, AuthErrorCode

FETCH_TIMEOUT_SECONDS = 5


def fetch_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:
        return json.load(response)


def discover_jwks_url(issuer: str) -> str:
    document = fetch_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
    return document["jwks_uri"]


class JwksCache:
    def __init__(self, load: Callable[[], dict]):
        self._load = load
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = threading.Lock()

    def key_for(self, kid: str | None) -> PyJWK:
        """The key with this id; refetches once (rate-limited) when it is unknown or the
        cached set is older than its maximum age. Raises AuthenticationFailed."""
        if kid is None:
            raise AuthenticationFailed(AuthErrorCode.UNKNOWN_KEY, "The token names no key (kid).")
        key = self._keys.get(kid)
        if key is not None and not self._stale():
            return key
        with self._lock:
            key = self._keys.get(kid)
            if key is None or self._stale():
                if self._may_refresh():
                    self._refresh()
                key = self._keys.get(kid)
        if key is None:
            raise AuthenticationFailed(
                AuthErrorCode.UNKNOWN_KEY,
                "The token is signed with a key this issuer does not publish.",
            )
        return key

    def _stale(self) -> bool:
        return (
            self._fetched_at is None
            or time.monotonic() - self._fetched_at > settings.OIDC_JWKS_MAX_AGE_SECONDS
        )

    def _may_refresh(self) -> bool:
        attempted = self._attempted_at
        return (
            attempted is None
            or time.monotonic() - attempted >= settings.OIDC_JWKS_MIN_REFRESH_SECONDS
        )

    def _refresh(self) -> None:
        self._attempted_at = time.monotonic()
        try:
            document = self._load()
            key_set = PyJWKSet.from_dict(document)
        except (OSError, ValueError, KeyError, PyJWKError, PyJWKSetError) as exc:
            if self._keys:
                return  # keep serving the keys we have; the issuer is briefly unreachable
            raise AuthenticationFailed(
                AuthErrorCode.ISSUER_UNAVAILABLE, f"The issuer's keys could not be fetched: {exc}"
            ) from exc
        self._keys = {key.key_id: key for key in key_set.keys if key.key_id}
        self._fetched_at = time.monotonic()
