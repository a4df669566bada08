"""Who may read /metrics: a client inside METRICS_ALLOWED_NETWORKS (by default the loopback
addresses: the host itself, or a sidecar sharing its network), or one that presents
METRICS_TOKEN as its bearer token. Anyone else is answered 403 in the platform's error body.

The client's address is the one tenants.identity.client_address settles on: behind a
trusted proxy (TRUSTED_PROXIES) that is the client the proxy names, not the proxy, so a
reverse proxy on the same host does not make every caller look local.
"""

from __future__ import annotations

import hmac
from enum import Enum
from ipaddress import ip_address

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from loupe.api.errors import error_response
from tenants.identity.client_address import request_client_address


class MetricsErrorCode(Enum):
    FORBIDDEN = "metrics_forbidden"


def scrape_refusal(request: HttpRequest) -> JsonResponse | None:
    """None for a caller who may read the metrics; otherwise the 403 to answer."""
    if _presents_token(request) or _from_allowed_network(request):
        return None
    return error_response(
        403,
        MetricsErrorCode.FORBIDDEN,
        "Metrics are served to METRICS_ALLOWED_NETWORKS, or with the METRICS_TOKEN bearer token.",
    )


def _presents_token(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
    return (
        bool(expected)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(supplied.strip().encode(), expected.encode())
    )


def _from_allowed_network(request: HttpRequest) -> bool:
    try:
        address = ip_address(request_client_address(request))
    except ValueError:  # no address the socket or a trusted proxy vouched for
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)
