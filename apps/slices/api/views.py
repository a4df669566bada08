from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.datasets.models import Dataset
from apps.slices import facets, fields, queries, searching, selectors, services
from apps.slices.api.serializers import (
    CountRequestSerializer,
    CountSerializer,
    FacetRequestSerializer,
    FacetsSerializer,
    PageRequestSerializer,
    RowsPageSerializer,
    SearchFieldsSerializer,
    SearchRequestSerializer,
    SliceInputSerializer,
    SliceListQuerySerializer,
    SlicePatchSerializer,
    SliceSerializer,
    SnapshotSerializer,
)
from apps.slices.searching import Backend
from loupe.api.inputs import valid
from loupe.api.pages import ByNewest, page
from loupe.db.pinning import unpin_read_only_request
from search.aggregations import PredictedBy

_PAGE_PARAMETERS = [
    OpenApiParameter("page_size", int, required=False),
    OpenApiParameter("cursor", str, required=False),
]


def _rows_page(page: searching.SearchPage) -> Response:
    """RowsPageSerializer's shape, its rows already rendered by Postgres."""
    return Response(
        {
            "backend": page.backend.value,
            "total": page.total,
            "rows": page.rows,
            "next_cursor": page.next_cursor,
            "index_pending": page.index_pending,
        }
    )


class SearchView(APIView):
    """Search is a POST (a query may be long) that only reads."""

    resource = "search"
    actions_by_method = {"POST": "read"}

    @extend_schema(request=SearchRequestSerializer, responses=RowsPageSerializer)
    def post(self, request):
        unpin_read_only_request()
        data = valid(SearchRequestSerializer, request.data)
        node = queries.prepare(data["query"], datasets=data.get("datasets"))
        page = searching.search(
            node=node,
            page_size=data["page_size"],
            cursor=data.get("cursor"),
            backend=Backend(data["backend"]),
        )
        return _rows_page(page)


class SearchCountView(APIView):
    resource = "search"
    actions_by_method = {"POST": "read"}

    @extend_schema(request=CountRequestSerializer, responses=CountSerializer)
    def post(self, request):
        unpin_read_only_request()
        data = valid(CountRequestSerializer, request.data)
        node = queries.prepare(data["query"], datasets=data.get("datasets"))
        counted = searching.count(node=node, backend=Backend(data["backend"]))
        return Response(CountSerializer(counted).data)


class SearchFacetsView(APIView):
    """Counts of each field's values among the rows a query matches (docs/facets.md)."""

    resource = "search"
    actions_by_method = {"POST": "read"}

    @extend_schema(request=FacetRequestSerializer, responses=FacetsSerializer)
    def post(self, request):
        unpin_read_only_request()
        data = valid(FacetRequestSerializer, request.data)
        fields = facets.facet_fields(data["fields"])
        node = queries.prepare(data["query"], datasets=data.get("datasets"))
        scope = data.get("predicted_by")
        counts = facets.facets(
            node=node,
            fields=fields,
            size=data["size"],
            predicted_by=PredictedBy(**scope) if scope else None,
            backend=Backend(data["backend"]),
        )
        return Response(FacetsSerializer(counts).data)


class SearchFieldsView(APIView):
    resource = "search"

    @extend_schema(responses=SearchFieldsSerializer)
    def get(self, request):
        return Response(fields.searchable_fields())


class SliceListView(APIView):
    resource = "slices"
    pagination_class = ByNewest

    @extend_schema(
        parameters=[OpenApiParameter("dataset", int, required=False)],
        responses=SliceSerializer(many=True),
    )
    def get(self, request):
        query = valid(SliceListQuerySerializer, request.query_params)
        slices = selectors.slices(dataset_id=query.get("dataset"))
        return page(request, self, slices, SliceSerializer)

    @extend_schema(request=SliceInputSerializer, responses={201: SliceSerializer})
    def post(self, request):
        data = valid(SliceInputSerializer, request.data)
        dataset = get_object_or_404(Dataset, pk=data["dataset"])
        slice = services.create_slice(
            dataset=dataset, name=data["name"], query=data["query"], actor=request.user
        )
        return Response(SliceSerializer(slice).data, status=status.HTTP_201_CREATED)


class SliceDetailView(APIView):
    resource = "slices"

    @extend_schema(responses=SliceSerializer)
    def get(self, request, slice_id: int):
        return Response(SliceSerializer(selectors.get_slice(slice_id=slice_id)).data)

    @extend_schema(request=SlicePatchSerializer, responses=SliceSerializer)
    def patch(self, request, slice_id: int):
        data = valid(SlicePatchSerializer, request.data)
        slice = services.update_slice(
            slice=selectors.get_slice(slice_id=slice_id), actor=request.user, **data
        )
        return Response(SliceSerializer(slice).data)

    @extend_schema(responses={204: None})
    def delete(self, request, slice_id: int):
        services.delete_slice(slice=selectors.get_slice(slice_id=slice_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SliceRowsView(APIView):
    resource = "slices"

    @extend_schema(parameters=_PAGE_PARAMETERS, responses=RowsPageSerializer)
    def get(self, request, slice_id: int):
        data = valid(PageRequestSerializer, request.query_params)
        page = selectors.slice_rows(
            slice=selectors.get_slice(slice_id=slice_id),
            page_size=data["page_size"],
            cursor=data.get("cursor"),
        )
        return _rows_page(page)


class SliceCountView(APIView):
    resource = "slices"

    @extend_schema(responses=CountSerializer)
    def get(self, request, slice_id: int):
        counted = selectors.slice_count(slice=selectors.get_slice(slice_id=slice_id))
        return Response(CountSerializer(counted).data)


class SnapshotListView(APIView):
    resource = "slices"
    pagination_class = ByNewest

    @extend_schema(responses=SnapshotSerializer(many=True))
    def get(self, request, slice_id: int):
        slice = selectors.get_slice(slice_id=slice_id)
        return page(request, self, selectors.snapshots_of(slice=slice), SnapshotSerializer)

    @extend_schema(request=None, responses={201: SnapshotSerializer})
    def post(self, request, slice_id: int):
        slice = selectors.get_slice(slice_id=slice_id)
        snapshot = services.create_snapshot(slice=slice, actor=request.user)
        return Response(SnapshotSerializer(snapshot).data, status=status.HTTP_201_CREATED)


class SnapshotDetailView(APIView):
    resource = "slices"

    @extend_schema(responses=SnapshotSerializer)
    def get(self, request, slice_id: int, number: int):
        slice = selectors.get_slice(slice_id=slice_id)
        return Response(SnapshotSerializer(selectors.get_snapshot(slice=slice, number=number)).data)


class SnapshotRowsView(APIView):
    resource = "slices"

    @extend_schema(parameters=_PAGE_PARAMETERS, responses=RowsPageSerializer)
    def get(self, request, slice_id: int, number: int):
        data = valid(PageRequestSerializer, request.query_params)
        slice = selectors.get_slice(slice_id=slice_id)
        page = selectors.snapshot_rows(
            snapshot=selectors.get_snapshot(slice=slice, number=number),
            page_size=data["page_size"],
            cursor=data.get("cursor"),
        )
        return _rows_page(page)
