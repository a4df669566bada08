from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.datasets import selectors as datasets
from apps.jobs.event_pages import EVENT_PAGE_PARAMETERS, EventPageSerializer, event_page
from apps.predictions import selectors, services
from apps.predictions.api.serializers import (
    CompareQuerySerializer,
    EvaluationSerializer,
    InferenceRunSerializer,
    JobInputSerializer,
    JobQuerySerializer,
    ModelCompareSerializer,
    PredictionSerializer,
    RowPredictionQuerySerializer,
)
from apps.predictions.models import EVALUATION_KIND, INFERENCE_KIND
from apps.training import selectors as training
from loupe.api.inputs import valid
from loupe.api.pages import ByNewest, page

_JOB_FILTERS = [
    OpenApiParameter("status", str, required=False),
    OpenApiParameter("model_version", int, required=False),
]


class RowPredictionListView(APIView):
    resource = "predictions"

    @extend_schema(
        parameters=[RowPredictionQuerySerializer], responses=PredictionSerializer(many=True)
    )
    def get(self, request, row_id: int):
        query = valid(RowPredictionQuerySerializer, request.query_params)
        row = datasets.get_row(row_id=row_id)
        found = selectors.predictions_of(row=row, **query)
        return Response(PredictionSerializer(found, many=True).data)


class InferenceRunListView(APIView):
    resource = "predictions"
    pagination_class = ByNewest

    @extend_schema(parameters=_JOB_FILTERS, responses=InferenceRunSerializer(many=True))
    def get(self, request):
        runs = selectors.inference_runs(**valid(JobQuerySerializer, request.query_params))
        return page(request, self, runs, InferenceRunSerializer)

    @extend_schema(request=JobInputSerializer, responses={202: InferenceRunSerializer})
    def post(self, request):
        run = services.submit_inference(
            **valid(JobInputSerializer, request.data), actor=request.user
        )
        run = selectors.get_inference_run(run_id=run.pk)
        return Response(InferenceRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class InferenceRunDetailView(APIView):
    resource = "predictions"

    @extend_schema(responses=InferenceRunSerializer)
    def get(self, request, run_id: int):
        run = selectors.get_inference_run(run_id=run_id)
        return Response(InferenceRunSerializer(run).data)


class InferenceRunCancelView(APIView):
    resource = "predictions"

    @extend_schema(request=None, responses={202: InferenceRunSerializer})
    def post(self, request, run_id: int):
        run = selectors.get_inference_run(run_id=run_id)
        services.cancel_job(job=run, kind=INFERENCE_KIND)
        run = selectors.get_inference_run(run_id=run_id)
        return Response(InferenceRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class InferenceRunEventsView(APIView):
    resource = "predictions"

    @extend_schema(parameters=EVENT_PAGE_PARAMETERS, responses=EventPageSerializer)
    def get(self, request, run_id: int):
        return event_page(request, selectors.get_inference_run(run_id=run_id), INFERENCE_KIND)


class EvaluationListView(APIView):
    resource = "predictions"
    pagination_class = ByNewest

    @extend_schema(parameters=_JOB_FILTERS, responses=EvaluationSerializer(many=True))
    def get(self, request):
        found = selectors.evaluations(**valid(JobQuerySerializer, request.query_params))
        return page(request, self, found, EvaluationSerializer)

    @extend_schema(
        request=JobInputSerializer,
        responses={201: EvaluationSerializer, 202: EvaluationSerializer},
        description="201 with the figures when the snapshot is small enough to evaluate at "
        "once (EVALUATION_INLINE_ROWS); 202 with a queued job otherwise.",
    )
    def post(self, request):
        evaluation = services.submit_evaluation(
            **valid(JobInputSerializer, request.data), actor=request.user
        )
        evaluation = selectors.get_evaluation(evaluation_id=evaluation.pk)
        queued = evaluation.status == "queued"
        answer = status.HTTP_202_ACCEPTED if queued else status.HTTP_201_CREATED
        return Response(EvaluationSerializer(evaluation).data, status=answer)


class EvaluationDetailView(APIView):
    resource = "predictions"

    @extend_schema(responses=EvaluationSerializer)
    def get(self, request, evaluation_id: int):
        evaluation = selectors.get_evaluation(evaluation_id=evaluation_id)
        return Response(EvaluationSerializer(evaluation).data)


class EvaluationEventsView(APIView):
    resource = "predictions"

    @extend_schema(parameters=EVENT_PAGE_PARAMETERS, responses=EventPageSerializer)
    def get(self, request, evaluation_id: int):
        evaluation = selectors.get_evaluation(evaluation_id=evaluation_id)
        return event_page(request, evaluation, EVALUATION_KIND)


class ModelCompareView(APIView):
    resource = "models"

    @extend_schema(parameters=[CompareQuerySerializer], responses=ModelCompareSerializer)
    def get(self, request, name: str):
        query = valid(CompareQuerySerializer, request.query_params)
        model = training.get_model(name=name)
        return Response(
            selectors.compare_versions(
                model=model, slice_id=query["slice"], snapshot=query["snapshot"]
            )
        )
