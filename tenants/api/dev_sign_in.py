"""The development issuer's sign-in page and token endpoint (404 unless it is in use):
tenants/identity/dev_authorization.py says what they accept."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from tenants.identity.dev_authorization import AuthorizationRequest, InvalidRequest, exchange_code
from tenants.identity.tokens import uses_dev_issuer


@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    """GET: the members to pick from; POST (`user`): back to the admin, with a code."""
    if not uses_dev_issuer():
        raise Http404
    try:
        asked = AuthorizationRequest.from_query(request.GET)
    except InvalidRequest as exc:
        return HttpResponse(
            f"{exc.error}: {exc.description}\n", status=400, content_type="text/plain"
        )
    people = asked.who_may_sign_in()
    if request.method == "POST":
        picked = request.POST.get("user")
        user = next((user for user, _ in people if str(user.pk) == picked), None)
        if user is not None:
            return HttpResponseRedirect(asked.redirect_with_code(user))
    context = {
        "tenant": asked.tenant(),
        "people": people,
        "picked_unknown": request.method == "POST",
    }
    return TemplateResponse(request, "dev_issuer/sign_in.html", context)


@csrf_exempt  # a client's server posts here, with the code and its verifier
@require_POST
def token(request: HttpRequest) -> JsonResponse:
    if not uses_dev_issuer():
        raise Http404
    try:
        return JsonResponse(exchange_code(request.POST), headers={"Cache-Control": "no-store"})
    except InvalidRequest as exc:
        return JsonResponse({"error": exc.error, "error_description": exc.description}, status=400)
