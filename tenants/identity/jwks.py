"""Signing keys of an OpenID Connect issuer, fetched from its JWKS and cached.

An unknown key id, or a cached set older than OIDC_JWKS_MAX_AGE_SECONDS, refetches the set,
at most every OIDC_JWKS_MIN_REFRESH_SECONDS, so a flood of tokens with made-up key ids cannot
turn into a flood of requests to the issuer. One fetch runs at a time, in its own thread:
the requests that need it wait for it, none longer than OIDC_FETCH_TIMEOUT_SECONDS from its
start, so a slow issuer holds no request past the timeout.

An issuer that answers is believed: a key it no longer publishes is refused from then on. One
that cannot be reached (refused, too slow, answering anything but a key set) changes nothing:
the cached keys keep serving, past their maximum age, and a warning is logged, so an outage
at the identity provider signs nobody out. A key not cached cannot be checked meanwhile, and
its token is answered 503 (issuer_unavailable), which is no failure of the client's.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable

from django.conf import settings
from jwt import PyJWK, PyJWKSet

from tenants.identity.errors import AuthenticationFailed, AuthErrorCode, ServiceUnavailable

logger = logging.getLogger(__name__)


def fetch_json(url: str, *, deadline: float) -> dict:
    """The JSON document at `url`, read by `deadline` (time.monotonic()). Raises OSError
    (TimeoutError when the deadline has passed) or ValueError."""
    with urllib.request.urlopen(url, timeout=_seconds_left(deadline)) as response:
        return json.load(response)


def discover_jwks_url(issuer: str, *, deadline: float) -> str:
    document = fetch_json(
        issuer.rstrip("/") + "/.well-known/openid-configuration", deadline=deadline
    )
    return document["jwks_uri"]


def _seconds_left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("no answer within OIDC_FETCH_TIMEOUT_SECONDS")
    return left


class _Fetch:
    """One fetch of the key set, under way in its own thread until `done` is set."""

    def __init__(self, timeout: float):
        self.deadline = time.monotonic() + timeout
        self.done = threading.Event()

    def overdue(self) -> bool:
        return time.monotonic() >= self.deadline

    def wait(self) -> bool:
        """Whether it finished, waiting for it until its deadline at most."""
        return self.done.wait(max(0.0, self.deadline - time.monotonic()))


class JwksCache:
    """The keys `load(deadline)` returns (a JWKS document, read by that time.monotonic())."""

    def __init__(self, load: Callable[[float], dict]):
        self._load = load
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._fetch: _Fetch | None = None
        self._failure: str | None = None  # why the last fetch got no keys; None once one did
        self._lock = threading.Lock()

    def key_for(self, kid: str | None) -> PyJWK:
        """The key with this id; refetches (rate-limited) when it is unknown or the cached set
        is older than its maximum age. Raises AuthenticationFailed (401) for a key the issuer
        does not publish, ServiceUnavailable (503) when the issuer cannot say."""
        if kid is None:
            raise AuthenticationFailed(AuthErrorCode.UNKNOWN_KEY, "The token names no key (kid).")
        key = self._keys.get(kid)
        if key is not None and not self._stale():
            return key
        fetch = self._fetch_to_wait_for()
        finished = fetch.wait() if fetch is not None else True
        key = self._keys.get(kid)
        if key is not None:
            return key  # refetched, or kept while the issuer cannot be reached
        if not finished:
            raise ServiceUnavailable(
                AuthErrorCode.ISSUER_UNAVAILABLE,
                f"The identity provider did not answer within "
                f"{settings.OIDC_FETCH_TIMEOUT_SECONDS:g} s, so the token's key cannot be "
                "checked; retry shortly.",
            )
        if self._failure is not None:
            raise ServiceUnavailable(
                AuthErrorCode.ISSUER_UNAVAILABLE,
                "The identity provider cannot be reached, so the token's key cannot be "
                "checked; retry shortly.",
            )
        raise AuthenticationFailed(
            AuthErrorCode.UNKNOWN_KEY,
            "The token is signed with a key this issuer does not publish.",
        )

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

    def _fetch_to_wait_for(self) -> _Fetch | None:
        """The fetch under way, or a new one where the rate limit allows; None when neither.
        A fetch past its deadline is given up on: the next one may start."""
        with self._lock:
            fetch = self._fetch
            if (fetch is None or fetch.overdue()) and self._may_refresh():
                fetch = self._fetch = _Fetch(settings.OIDC_FETCH_TIMEOUT_SECONDS)
                self._attempted_at = time.monotonic()
                threading.Thread(
                    target=self._run, args=(fetch,), name="jwks-fetch", daemon=True
                ).start()
            return fetch

    def _run(self, fetch: _Fetch) -> None:
        keys, failure = None, None
        try:
            key_set = PyJWKSet.from_dict(self._load(fetch.deadline))
            keys = {key.key_id: key for key in key_set.keys if key.key_id}
        except Exception as exc:  # the thread's edge: whatever went wrong, no keys came
            failure = f"{type(exc).__name__}: {exc}"
        with self._lock:
            if self._fetch is fetch:  # not given up on and replaced by a newer fetch
                self._fetch = None
                if keys is not None:
                    self._keys, self._fetched_at, self._failure = keys, time.monotonic(), None
                else:
                    self._failure = failure
            cached = len(self._keys)
        if failure is not None:
            logger.warning(
                "The identity provider's keys could not be fetched (%s); "
                "%d cached keys keep serving until it answers.",
                failure,
                cached,
            )
        fetch.done.set()  # last: whoever waited sees the cache, and the log, as they now are
