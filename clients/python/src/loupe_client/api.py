"""One HTTP connection to the platform: every call goes through `Api.call`, which turns an
error status into the typed error and a failed connection into ConnectionFailed, so no
httpx exception reaches a caller."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import httpx

from loupe_client.auth import Credentials
from loupe_client.errors import ConnectionFailed, error_from_response
from loupe_client.loopback import loopback_mounts

API_PREFIX = "/api/v1/"


def base_url_of(url: str) -> httpx.URL:
    """The URL every path is joined to: the one given, ending in a slash."""
    return httpx.URL(url.rstrip("/") + "/")


class Api:
    """The platform at `base_url` (scheme, host and port; a path after them is kept as a
    prefix), with `auth` on every call."""

    def __init__(self, base_url: str, *, auth: Credentials, timeout: float):
        self.base_url = base_url_of(base_url)
        self.auth = auth
        self.http = httpx.Client(
            auth=auth,
            timeout=timeout,
            mounts=loopback_mounts(),
            headers={"User-Agent": f"loupe-client/{version('loupe-client')}"},
        )

    def url(self, path: str) -> httpx.URL:
        """The full URL of an API path (`datasets/3/`) or of a URL the API gave (`next`)."""
        if "://" in path:
            return httpx.URL(path)
        return self.base_url.join(API_PREFIX.lstrip("/") + path.lstrip("/"))

    def call(self, method: str, path: str, **options: Any) -> Any:
        """The decoded JSON answer (None for 204). `options` are httpx's: `json`, `params`,
        `data`, `files`, `timeout`."""
        response = self.send(method, path, **options)
        return response.json() if response.content else None

    def send(self, method: str, path: str, **options: Any) -> httpx.Response:
        try:
            response = self.http.request(method, self.url(path), **options)
        except httpx.TransportError as exc:
            raise ConnectionFailed(
                f"{method} {self.url(path)}: {exc or type(exc).__name__}"
            ) from exc
        if response.is_error:
            raise error_from_response(response)
        return response

    def close(self) -> None:
        self.http.close()
