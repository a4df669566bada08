"""Credentials, as httpx auth flows: a bearer token sent as it is, or an API key traded for a
session token (`POST /api/v1/session/` with `X-API-Key`) that is traded again before it
expires.

A session lives an hour (the platform's `API_SESSION_TTL_SECONDS`). It is renewed once less
than a quarter of its life, or a minute, is left, whichever is shorter, so a long job
followed over a WebSocket never sends an expired token. A call answered 401
`session_expired` anyway (the clocks disagree, or the session store lost it) is sent once more
with a fresh session.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator
from datetime import datetime

import httpx

from loupe_client.errors import ConnectionFailed, error_from_response

SESSION_PATH = "api/v1/session/"
SESSION_EXPIRED = "session_expired"
RENEW_AT_MOST = 60.0  # seconds before expiry


class BearerToken(httpx.Auth):
    """A token from the identity provider (a JWT) or a session token traded elsewhere.
    It is not renewed: once it expires, calls are refused with AuthenticationError."""

    def __init__(self, token: str):
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def socket_token(self, http: httpx.Client, *, renew: bool = False) -> str | None:
        """The token a WebSocket presents; None when asked to renew, which it cannot."""
        return None if renew else self._token


class ApiKeySession(httpx.Auth):
    """An API key, traded for a session token on first use and again before expiry. Safe to
    share between threads: one trade at a time."""

    def __init__(self, api_key: str, *, base_url: httpx.URL):
        self._api_key = api_key
        self._session_url = base_url.join(SESSION_PATH)
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0  # time.monotonic() past which the session is traded again

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        with self._lock:
            if self._needs_trade():
                self._take(self._checked((yield self._trade_request())))
            token = self._token
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and _code_of(response) == SESSION_EXPIRED:
            with self._lock:
                if self._token == token:  # nobody renewed it meanwhile
                    self._take(self._checked((yield self._trade_request())))
                token = self._token
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    def socket_token(self, http: httpx.Client, *, renew: bool = False) -> str:
        """The session token a WebSocket presents, traded through `http` when due, or now
        when `renew` (the socket was closed for an expired session)."""
        with self._lock:
            if renew or self._needs_trade():
                try:
                    response = http.send(self._trade_request(), auth=None)
                except httpx.TransportError as exc:
                    raise ConnectionFailed(f"POST {self._session_url}: {exc}") from exc
                self._take(self._checked(response))
            assert self._token is not None
            return self._token

    def _needs_trade(self) -> bool:
        return self._token is None or time.monotonic() >= self._renew_at

    def _trade_request(self) -> httpx.Request:
        return httpx.Request("POST", self._session_url, headers={"X-API-Key": self._api_key})

    @staticmethod
    def _checked(response: httpx.Response) -> httpx.Response:
        response.read()
        if response.status_code != 201:
            raise error_from_response(response)
        return response

    def _take(self, response: httpx.Response) -> None:
        body = response.json()
        expires_at = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
        life = max(0.0, expires_at.timestamp() - time.time())
        self._token = body["session_token"]
        self._renew_at = time.monotonic() + life - min(RENEW_AT_MOST, life / 4)


def _code_of(response: httpx.Response) -> str | None:
    response.read()
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


# What a Client signs its calls with; both also give its WebSockets their token.
Credentials = BearerToken | ApiKeySession
