"""The API root: where a client starts."""

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse


@extend_schema(exclude=True)
@api_view(["GET"])
@permission_classes([AllowAny])
def api_root(request: Request) -> Response:
    return Response(
        {
            "me": reverse("me", request=request),
            "tenant": reverse("tenant", request=request),
            "members": reverse("member-list", request=request),
            "api_keys": reverse("api-key-list", request=request),
            "session": reverse("session", request=request),
            "projects": reverse("project-list", request=request),
            "datasets": reverse("dataset-list", request=request),
            "jobs": reverse("job-list", request=request),
            "webhooks": reverse("webhook-list", request=request),
            "schema": reverse("schema", request=request),
            "docs": reverse("docs", request=request),
        }
    )
