from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.predictions.api.file_serializers import (
    PredictionExportQuerySerializer,
    PredictionImportRequestSerializer,
    PredictionImportSerializer,
)
from apps.predictions.files import exports, imports, selectors
from apps.training import selectors as training
from loupe.api.inputs import valid
from loupe.storage_quota import check_upload_fits


class PredictionImportListView(APIView):
    resource = "predictions"
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    stores_upload = True  # held to the storage quota before its body is read (upload_gate)

    @extend_schema(
        request=PredictionImportRequestSerializer, responses={202: PredictionImportSerializer}
    )
    def post(self, request):
        check_upload_fits(request)  # before the body is read
        data = valid(PredictionImportRequestSerializer, request.data)
        job = imports.start_prediction_import(
            dataset_id=data["dataset"],
            format=data["format"],
            upload=data["file"],
            model=data["model"],
            version=data.get("version"),
            task=data.get("task"),
            categories=data.get("categories"),
            actor=request.user,
        )
        return Response(PredictionImportSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class PredictionImportDetailView(APIView):
    resource = "predictions"

    @extend_schema(responses=PredictionImportSerializer)
    def get(self, request, job_id: int):
        job = selectors.get_prediction_import(job_id=job_id)
        return Response(PredictionImportSerializer(job).data)


async def _async_chunks(chunks):
    """Served over ASGI, a sync iterator would be read whole into memory before the first
    byte goes out; this hands the chunks over one at a time, each read on the same thread
    (as the dataset export does)."""
    read = sync_to_async(next, thread_sensitive=True)
    while (chunk := await read(chunks, None)) is not None:
        yield chunk


class PredictionExportView(APIView):
    resource = "predictions"

    @extend_schema(
        parameters=[PredictionExportQuerySerializer],
        responses={(200, "application/octet-stream"): bytes},
    )
    def get(self, request, version_id: int):
        query = valid(PredictionExportQuerySerializer, request.query_params)
        version = training.get_version(version_id=version_id)
        writer = exports.WRITERS[query["format"]]
        content_type, extension, chunks = writer(version=version, dataset_id=query.get("dataset"))
        response = StreamingHttpResponse(_async_chunks(chunks), content_type=content_type)
        name = f"{version.model.name}-v{version.version}-predictions.{extension}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
