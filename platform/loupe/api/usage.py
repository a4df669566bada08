"""`GET /api/v1/tenant/usage/`: the tenant's limits and what it uses of them, for admins."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from loupe.usage import tenant_usage


class TenantUsageView(APIView):
    resource = "usage"

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(tenant_usage())
