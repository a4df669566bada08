"""The address a request comes from, as the failure throttle counts it.

Behind a load balancer or reverse proxy the peer is the proxy, and the client is named in
X-Forwarded-For, to which each proxy appends the peer it saw. Only the right-hand end of the
header is anyone's word worth taking: the header is read only when the peer is one of
TRUSTED_PROXIES, from the right, past each hop that is itself a trusted proxy; the first hop
that is not is the client. Whatever stands left of it the client wrote, and a client can write
anything. From any other peer the header is ignored, so nobody can put their failures on
someone else's address.

The ASGI servers run with uvicorn's own proxy-header handling off (`--no-proxy-headers`,
UVICORN_PROXY_HEADERS=false), so the peer here is the one on the socket and this module is the
one place that reads the header.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address

from django.conf import settings
from django.http import HttpRequest

UNKNOWN = "unknown"


def client_address(*, peer: str | None, forwarded_for: str | None) -> str:
    """The client's address, from the socket's peer and the X-Forwarded-For header (several
    headers joined by commas, as servers join them)."""
    address = _parse(peer or "")
    if address is None:
        return peer or UNKNOWN
    for hop in reversed((forwarded_for or "").split(",")):
        if not _is_trusted_proxy(address):
            break
        forwarded = _parse(hop)
        if forwarded is None:  # not an address a proxy writes: stop at the last one that did
            break
        address = forwarded
    return str(address)


def request_client_address(request: HttpRequest) -> str:
    return client_address(
        peer=request.META.get("REMOTE_ADDR"),
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR"),
    )


def _parse(value: str) -> IPv4Address | IPv6Address | None:
    try:
        address = ip_address(value.strip())
    except ValueError:
        return None
    # An IPv4 client seen by a dual-stack socket is the same client as on an IPv4 one.
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _is_trusted_proxy(address: IPv4Address | IPv6Address) -> bool:
    return any(address in network for network in settings.TRUSTED_PROXIES)
