"""The API's list pages: cursor pages of the newest first."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination


class ByNewest(CursorPagination):
    ordering = ("-created_at", "-id")


def page(request, view, queryset, serializer, paginator_class=ByNewest):
    """The queryset's page the request asks for, serialized, with its links."""
    paginator = paginator_class()
    rows = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer(rows, many=True).data)
