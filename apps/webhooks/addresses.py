"""Where a webhook may send: a public address, never the platform's own network.

A URL whose host resolves to a loopback, private, link-local or otherwise non-public address
is refused (it would let a tenant's admin reach the services beside Loupe), unless it falls in
one of WEBHOOK_ALLOWED_NETWORKS. The check is made when the webhook is saved and again at each
attempt, which then connects to the very address it checked, so a name that resolves
elsewhere later (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from apps.webhooks.errors import WebhookErrorCode

logger = logging.getLogger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# Lookups run here, so one that hangs is given up on; a few at once, in a worker or a request.
_RESOLVER = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-dns")


class UrlRefused(Exception):
    def __init__(self, code: WebhookErrorCode, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Target:
    """Where one attempt connects: the URL's parts and the checked address to reach it at."""

    scheme: str
    host: str
    port: int
    path: str  # with its query
    address: str


def check_url(url: str) -> Target:
    """The URL's target, its host resolved now to an address it may send to. Raises
    UrlRefused when it names no host, does not resolve, or resolves to an address that is
    not public (unless allowed); every address the name has must pass."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused(WebhookErrorCode.URL_NOT_ALLOWED, "Use an http:// or https:// URL.")
    if parts.username or parts.password:
        raise UrlRefused(
            WebhookErrorCode.URL_NOT_ALLOWED,
            "Leave credentials out of the URL; verify the signature instead.",
        )
    port = _port(parts)
    addresses = _resolve(parts.hostname, port)
    for address in addresses:
        if reason := refused_because(address):
            logger.info(
                "webhook address refused",
                extra={"host": parts.hostname, "address": str(address), "reason": reason},
            )
            # A name's addresses are not told: they would map the network beside Loupe.
            what = (
                f"{address} is a {reason} address"
                if _is_address(parts.hostname)
                else f"{parts.hostname} resolves to an address that is not public"
            )
            raise UrlRefused(
                WebhookErrorCode.URL_NOT_ALLOWED,
                f"{what}; webhooks go to public addresses only.",
            )
    path = parts.path or "/"
    return Target(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port,
        path=f"{path}?{parts.query}" if parts.query else path,
        address=str(addresses[0]),
    )


def refused_because(address: Address) -> str:
    """Why a webhook may not send to `address` ("" when it may)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if any(address in network for network in settings.WEBHOOK_ALLOWED_NETWORKS):
        return ""
    if isinstance(address, ipaddress.IPv6Address) and (address.sixtofour or address.teredo):
        return "tunnelled (6to4 or Teredo)"  # it may carry any IPv4 address inside
    for reason, flag in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("non-public", not address.is_global),
    ):
        if flag:
            return reason
    return ""


def _port(parts) -> int:
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise UrlRefused(WebhookErrorCode.URL_NOT_ALLOWED, "The URL's port must be 1 to 65535.")
    return port or (443 if parts.scheme == "https" else 80)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _resolve(host: str, port: int) -> list[Address]:
    """The host's addresses, looked up within WEBHOOK_TIMEOUT_SECONDS (a slow name server
    holds no worker longer)."""
    lookup = _RESOLVER.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        found = lookup.result(timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
    except (socket.gaierror, UnicodeError, TimeoutError) as exc:
        raise UrlRefused(
            WebhookErrorCode.URL_UNRESOLVABLE, f"{host} does not resolve to an address."
        ) from exc
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in found))
    if not addresses:
        raise UrlRefused(WebhookErrorCode.URL_UNRESOLVABLE, f"{host} has no address.")
    return addresses
