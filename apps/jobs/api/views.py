from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.views import APIView

from apps.jobs import selectors
from apps.jobs.api.serializers import JobQuerySerializer, JobSerializer
from loupe.api.inputs import valid
from loupe.api.pages import CursorPages, page


class NewestJobs(CursorPages):
    ordering = ("-created_at", "-key")  # key: "<kind>:<id>", one per job of every kind
    page_size_query_param = "page_size"
    max_page_size = 500


class JobListView(APIView):
    resource = "jobs"
    pagination_class = NewestJobs

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", str, required=False),
            OpenApiParameter("status", str, required=False),
        ],
        responses=JobSerializer(many=True),
    )
    def get(self, request):
        jobs = selectors.jobs(**valid(JobQuerySerializer, request.query_params))
        return page(request, self, jobs, JobSerializer)
