"""The API's list pages: cursor pages, the newest first unless a view orders them otherwise."""

from __future__ import annotations

from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination, _positive_int

from loupe.api.errors import ApiError


class CursorPages(CursorPagination):
    """DRF's cursor pages, refusing what DRF lets by: a cursor that is not one of ours is a
    400 (DRF answers 404, which reads as "no such endpoint"), and so is a `page_size` that
    is not a whole number from 1 to `max_page_size` (DRF quietly serves its default)."""

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ApiError(
                status=400,
                code="invalid_cursor",
                detail="The cursor is not one this list gave; pass a `next` or `previous` "
                "link's cursor unchanged.",
                fields={self.cursor_query_param: ["Invalid cursor."]},
            ) from None

    def get_page_size(self, request):
        if not self.page_size_query_param:
            return self.page_size
        asked = request.query_params.get(self.page_size_query_param)
        if asked is None:
            return self.page_size
        try:
            size = _positive_int(asked, strict=True)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ApiError(
                status=400,
                code="invalid",
                detail=f"page_size must be a whole number from 1 to {self.max_page_size}.",
                fields={self.page_size_query_param: ["Not a page size."]},
            )
        return size


class ByNewest(CursorPages):
    ordering = ("-created_at", "-id")


def page(request, view, queryset, serializer):
    """The queryset's page the request asks for, serialized, with its links. The view names
    its `pagination_class`, which is also how the OpenAPI document knows the page's shape."""
    paginator = view.pagination_class()
    rows = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer(rows, many=True).data)


def rendered_page(request, view, queryset, render):
    """As page(), for objects rendered in bulk: `render` takes the page's ids, in order, and
    returns their representations (rows Postgres renders, say). The queryset need hold no
    more than the ids and the ordering's fields."""
    paginator = view.pagination_class()
    objects = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(render([item.pk for item in objects]))
