"""A job's stored events over HTTP, a page at a time: `GET .../<job>/events/?after=N&limit=M`,
the same history the job's WebSocket replays, for every kind of job."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.response import Response

from apps.jobs.events import event_body, events_after
from apps.jobs.models import Job
from loupe.api.inputs import QueryInput


class JobEventSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    type = serializers.CharField()
    kind = serializers.CharField()
    job = serializers.IntegerField()
    time = serializers.DateTimeField()
    data = serializers.DictField()


class EventPageSerializer(serializers.Serializer):
    results = JobEventSerializer(many=True)
    next = serializers.CharField(allow_null=True)


class EventQuerySerializer(QueryInput):
    after = serializers.IntegerField(min_value=0, required=False, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=1000, required=False, default=500)


EVENT_PAGE_PARAMETERS = [
    OpenApiParameter("after", int, required=False),
    OpenApiParameter("limit", int, required=False),
]


def event_page(request, job: Job, kind: str) -> Response:
    """The job's events after `?after=N`, at most `limit`, with the next page's URL while a
    full page came back."""
    query = EventQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    after, limit = query.validated_data["after"], query.validated_data["limit"]
    events = events_after(kind=kind, job_id=job.pk, after=after, limit=limit)
    next_url = None
    if len(events) == limit:
        next_url = request.build_absolute_uri(
            f"{request.path}?after={events[-1].seq}&limit={limit}"
        )
    return Response({"results": [event_body(e) for e in events], "next": next_url})
