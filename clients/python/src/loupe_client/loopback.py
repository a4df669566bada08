"""Host names under `localhost` are the loopback address (RFC 6761), as curl and browsers
treat them, whatever the system resolver says: locally each tenant is served at
`<slug>.localhost:<port>`, and Python's resolver usually finds no such name.

Such a host is connected to at 127.0.0.1 while the request keeps its real `Host` header (the
platform picks the tenant by it), for HTTP and for WebSockets alike. Every other host is
resolved as usual.
"""

from __future__ import annotations

import httpx

LOOPBACK = "127.0.0.1"


def is_loopback_name(host: str) -> bool:
    host = host.rstrip(".").lower()
    return host == "localhost" or host.endswith(".localhost")


class LoopbackTransport(httpx.HTTPTransport):
    """Sends each request to 127.0.0.1 on the URL's port; the request's `Host` header,
    already set from the URL, is left as it is, and TLS is checked against the real name."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        name = request.url.host
        request.url = request.url.copy_with(host=LOOPBACK)
        request.extensions = {**request.extensions, "sni_hostname": name}
        return super().handle_request(request)


def loopback_mounts() -> dict[str, httpx.BaseTransport]:
    """httpx mounts that route `localhost` and `*.localhost` through LoopbackTransport; a
    mount is more specific than the proxies httpx reads from the environment, so no proxy
    ever sees these names."""
    transport = LoopbackTransport()
    return {"all://localhost": transport, "all://*.localhost": transport}


def socket_address(url: httpx.URL) -> tuple[str, int] | None:
    """Where a WebSocket to `url` must connect when its host is a loopback name, else None
    (the host is resolved as usual)."""
    if not is_loopback_name(url.host):
        return None
    return LOOPBACK, url.port or (443 if url.scheme in ("https", "wss") else 80)
