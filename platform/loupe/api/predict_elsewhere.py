"""The API's port does not serve online predict: the predict server does, in a process of its
own that holds torch (loupe.serving_asgi), which a load balancer routes the path to.

A call that reaches the API's port anyway is told where to send it (421 Misdirected
Request), not redirected: HTTP clients drop the Authorization header when a redirect changes
the port, so a followed 307 would only end in a puzzling 401 there.
"""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.http.request import split_domain_port
from django.views.decorators.csrf import csrf_exempt

from loupe.api.errors import error_response

CODE = "served_by_predict_server"


@csrf_exempt
def predict_elsewhere(request, name: str, number: int) -> JsonResponse:
    host, _ = split_domain_port(request.get_host())
    url = f"{request.scheme}://{host}:{settings.SERVING_PORT}{request.path}"
    return error_response(
        421, CODE, f"Online predict is served by the predict server; send this call to {url}."
    )
