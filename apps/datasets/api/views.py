import contextvars

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.datasets import exports, imports, selectors, services
from apps.datasets.api.serializers import (
    AnnotationInputSerializer,
    AnnotationSerializer,
    DataRowPatchSerializer,
    DataRowSerializer,
    DatasetInputSerializer,
    DatasetQuerySerializer,
    DatasetSerializer,
    ImportJobSerializer,
    ImportRequestSerializer,
)
from apps.datasets.errors import DatasetErrorCode
from apps.datasets.rendered_rows import rendered_rows
from apps.jobs.event_pages import EVENT_PAGE_PARAMETERS, EventPageSerializer, event_page
from loupe.api.errors import ApiError
from loupe.api.pages import ByNewest, CursorPages, page, rendered_page
from loupe.storage_quota import check_upload_fits


class ById(CursorPages):
    # Rows page by id: an index scan that stays stable and fast at millions of rows.
    ordering = ("id",)
    page_size = 100
    max_page_size = 1000
    page_size_query_param = "page_size"


class DatasetListView(APIView):
    resource = "datasets"
    pagination_class = ByNewest

    @extend_schema(
        parameters=[OpenApiParameter("project", int, required=False)],
        responses=DatasetSerializer(many=True),
    )
    def get(self, request):
        query = DatasetQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        queryset = selectors.datasets(project_id=query.validated_data.get("project"))
        return page(request, self, queryset, DatasetSerializer)

    @extend_schema(request=DatasetInputSerializer, responses={201: DatasetSerializer})
    def post(self, request):
        data = DatasetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dataset = services.create_dataset(
            project_id=data.validated_data["project"],
            name=data.validated_data["name"],
            description=data.validated_data["description"],
            actor=request.user,
        )
        return Response(DatasetSerializer(dataset).data, status=status.HTTP_201_CREATED)


class DatasetDetailView(APIView):
    resource = "datasets"

    @extend_schema(responses=DatasetSerializer)
    def get(self, request, dataset_id: int):
        return Response(DatasetSerializer(selectors.get_dataset(dataset_id=dataset_id)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, dataset_id: int):
        services.delete_dataset(
            dataset=selectors.get_dataset(dataset_id=dataset_id), actor=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class DataRowListView(APIView):
    resource = "datasets"
    pagination_class = ById

    @extend_schema(responses=DataRowSerializer(many=True))
    def get(self, request, dataset_id: int):
        rows = selectors.row_ids_of(dataset=selectors.get_dataset(dataset_id=dataset_id))
        return rendered_page(request, self, rows, rendered_rows)


class DataRowDetailView(APIView):
    resource = "datasets"

    @extend_schema(responses=DataRowSerializer)
    def get(self, request, row_id: int):
        return Response(DataRowSerializer(selectors.get_row(row_id=row_id)).data)

    @extend_schema(request=DataRowPatchSerializer, responses=DataRowSerializer)
    def patch(self, request, row_id: int):
        row = selectors.get_row(row_id=row_id)
        data = DataRowPatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.update_row(row=row, actor=request.user, **data.validated_data)
        return Response(DataRowSerializer(selectors.get_row(row_id=row.pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, row_id: int):
        services.delete_row(row=selectors.get_row(row_id=row_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AnnotationListView(APIView):
    resource = "datasets"

    @extend_schema(responses=AnnotationSerializer(many=True))
    def get(self, request, row_id: int):
        row = selectors.get_row(row_id=row_id)
        return Response(AnnotationSerializer(row.annotations.all(), many=True).data)

    @extend_schema(request=AnnotationInputSerializer, responses={201: AnnotationSerializer})
    def post(self, request, row_id: int):
        row = selectors.get_row(row_id=row_id)
        data = AnnotationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        annotation = services.create_annotation(row=row, actor=request.user, **data.validated_data)
        return Response(AnnotationSerializer(annotation).data, status=status.HTTP_201_CREATED)


class AnnotationDetailView(APIView):
    resource = "datasets"

    @extend_schema(request=AnnotationInputSerializer, responses=AnnotationSerializer)
    def put(self, request, annotation_id: int):
        annotation = selectors.get_annotation(annotation_id=annotation_id)
        data = AnnotationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        annotation = services.update_annotation(
            annotation=annotation, actor=request.user, **data.validated_data
        )
        return Response(AnnotationSerializer(annotation).data)

    @extend_schema(responses={204: None})
    def delete(self, request, annotation_id: int):
        services.delete_annotation(
            annotation=selectors.get_annotation(annotation_id=annotation_id), actor=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ImportListView(APIView):
    resource = "datasets"
    pagination_class = ByNewest
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    stores_upload = True  # held to the storage quota before its body is read (upload_gate)

    @extend_schema(responses=ImportJobSerializer(many=True))
    def get(self, request, dataset_id: int):
        jobs = selectors.imports_of(dataset=selectors.get_dataset(dataset_id=dataset_id))
        return page(request, self, jobs, ImportJobSerializer)

    @extend_schema(request=ImportRequestSerializer, responses={202: ImportJobSerializer})
    def post(self, request, dataset_id: int):
        dataset = selectors.get_dataset(dataset_id=dataset_id)
        # Both before the body is read: an upload past a quota is refused unread.
        imports.check_row_quota()
        check_upload_fits(request)
        data = ImportRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = imports.start_import(
            dataset=dataset,
            format=data.validated_data["format"],
            upload=data.validated_data.get("file"),
            source_uri=data.validated_data.get("source_uri", ""),
            notify=data.validated_data["notify"],
            actor=request.user,
        )
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ImportDetailView(APIView):
    resource = "datasets"

    @extend_schema(responses=ImportJobSerializer)
    def get(self, request, job_id: int):
        return Response(ImportJobSerializer(selectors.get_import(job_id=job_id)).data)


class ImportEventsView(APIView):
    resource = "datasets"

    @extend_schema(parameters=EVENT_PAGE_PARAMETERS, responses=EventPageSerializer)
    def get(self, request, job_id: int):
        return event_page(request, selectors.get_import(job_id=job_id), "import")


async def _async_chunks(chunks, context: contextvars.Context):
    """Served over ASGI, a sync iterator would be read whole into memory before the first
    byte goes out; this hands the chunks over one at a time, each read on the view's thread
    and in the view's context. The body is sent after the middleware has left the request's
    context, and with it its log fields (the error id) and its database pinning: read
    outside it, an export right after the client's own write would read a replica that may
    not hold it yet."""
    read = sync_to_async(context.run, thread_sensitive=True)
    while (chunk := await read(next, chunks, None)) is not None:
        yield chunk


class ExportView(APIView):
    resource = "datasets"

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=list(exports.WRITERS), required=True)],
        responses={(200, "application/octet-stream"): bytes},
    )
    def get(self, request, dataset_id: int):
        dataset = selectors.get_dataset(dataset_id=dataset_id)
        export_format = request.query_params.get("format", "")
        writer = exports.WRITERS.get(export_format)
        if writer is None:
            raise ApiError(
                status=400,
                code=DatasetErrorCode.UNKNOWN_FORMAT,
                detail=f"format must be one of {', '.join(exports.WRITERS)}.",
                fields={"format": ["unknown"]},
            )
        content_type, extension, chunks = writer(dataset=dataset)
        body = _async_chunks(chunks, contextvars.copy_context())
        response = StreamingHttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="dataset-{dataset.pk}.{extension}"'
        return response
