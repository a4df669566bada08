"""The development issuer's discovery document and JWKS (404 unless it is in use)."""

from django.http import Http404, JsonResponse

from tenants.identity import dev_issuer
from tenants.identity.tokens import uses_dev_issuer


def openid_configuration(request) -> JsonResponse:
    if not uses_dev_issuer():
        raise Http404
    return JsonResponse(dev_issuer.discovery_document())


def jwks(request) -> JsonResponse:
    if not uses_dev_issuer():
        raise Http404
    return JsonResponse(dev_issuer.jwks_document())
