"""`GET /api/v1/audit/`: the tenant's audit log, for its admins."""

from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework.views import APIView

from loupe.api.pages import ByNewest, page
from tenants.audit import selectors
from tenants.audit.api.serializers import AuditEntrySerializer, AuditQuerySerializer
from tenants.audit.models import AuditAction


class AuditEntryListView(APIView):
    resource = "audit"
    pagination_class = ByNewest

    @extend_schema(
        parameters=[
            OpenApiParameter("action", str, enum=AuditAction.values, required=False),
            OpenApiParameter("since", OpenApiTypes.DATETIME, required=False),
        ],
        responses=AuditEntrySerializer(many=True),
    )
    def get(self, request):
        query = AuditQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return page(request, self, selectors.entries(**query.validated_data), AuditEntrySerializer)
