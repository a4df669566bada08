from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.jobs.event_pages import EVENT_PAGE_PARAMETERS, EventPageSerializer, event_page
from apps.training import selectors, services
from apps.training.api.serializers import (
    ExperimentComparisonSerializer,
    ModelSerializer,
    ModelSpecSerializer,
    ModelVersionSerializer,
    RunMetricsSerializer,
    TrainingRunInputSerializer,
    TrainingRunQuerySerializer,
    TrainingRunSerializer,
)
from apps.training.catalog import list_specs
from apps.training.models import KIND
from loupe.api.inputs import valid
from loupe.api.pages import ByNewest, CursorPages, page


class ByName(CursorPages):
    ordering = ("name",)


class ByVersion(CursorPages):
    ordering = ("-version",)


class ModelSpecListView(APIView):
    resource = "training"

    @extend_schema(responses=ModelSpecSerializer(many=True))
    def get(self, request):
        return Response([spec.describe() for spec in list_specs()])


class TrainingRunListView(APIView):
    resource = "training"
    pagination_class = ByNewest

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, required=False),
            OpenApiParameter("experiment", str, required=False),
        ],
        responses=TrainingRunSerializer(many=True),
    )
    def get(self, request):
        query = valid(TrainingRunQuerySerializer, request.query_params)
        runs = selectors.training_runs(**query)
        return page(request, self, runs, TrainingRunSerializer)

    @extend_schema(request=TrainingRunInputSerializer, responses={202: TrainingRunSerializer})
    def post(self, request):
        run = services.submit_run(
            **valid(TrainingRunInputSerializer, request.data), actor=request.user
        )
        run = selectors.get_run(run_id=run.pk)
        return Response(TrainingRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class TrainingRunDetailView(APIView):
    resource = "training"

    @extend_schema(responses=TrainingRunSerializer)
    def get(self, request, run_id: int):
        return Response(TrainingRunSerializer(selectors.get_run(run_id=run_id)).data)


class TrainingRunCancelView(APIView):
    resource = "training"

    @extend_schema(request=None, responses={202: TrainingRunSerializer})
    def post(self, request, run_id: int):
        services.cancel_run(run=selectors.get_run(run_id=run_id), actor=request.user)
        run = selectors.get_run(run_id=run_id)
        return Response(TrainingRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class TrainingRunEventsView(APIView):
    resource = "training"

    @extend_schema(parameters=EVENT_PAGE_PARAMETERS, responses=EventPageSerializer)
    def get(self, request, run_id: int):
        return event_page(request, selectors.get_run(run_id=run_id), KIND)


class TrainingRunMetricsView(APIView):
    resource = "training"

    @extend_schema(responses=RunMetricsSerializer)
    def get(self, request, run_id: int):
        return Response(selectors.run_metrics(run=selectors.get_run(run_id=run_id)))


class ExperimentCompareView(APIView):
    resource = "training"

    @extend_schema(responses=ExperimentComparisonSerializer)
    def get(self, request, name: str):
        return Response(selectors.experiment_comparison(name=name))


class ModelListView(APIView):
    resource = "models"
    pagination_class = ByName

    @extend_schema(responses=ModelSerializer(many=True))
    def get(self, request):
        return page(request, self, selectors.models(), ModelSerializer)


class ModelDetailView(APIView):
    resource = "models"

    @extend_schema(responses=ModelSerializer)
    def get(self, request, name: str):
        return Response(ModelSerializer(selectors.get_model(name=name)).data)


class ModelVersionListView(APIView):
    resource = "models"
    pagination_class = ByVersion

    @extend_schema(responses=ModelVersionSerializer(many=True))
    def get(self, request, name: str):
        versions = selectors.versions_of(model=selectors.get_model(name=name))
        return page(request, self, versions, ModelVersionSerializer)


class ModelVersionDetailView(APIView):
    resource = "models"

    @extend_schema(responses=ModelVersionSerializer)
    def get(self, request, version_id: int):
        return Response(ModelVersionSerializer(selectors.get_version(version_id=version_id)).data)
