from rest_framework import serializers

from apps.jobs.kinds import KINDS
from apps.jobs.models import JobListing, JobStatus
from apps.jobs.selectors import summary_of
from loupe.api.inputs import QueryInput

# Every status a job of some kind can be in: an import also ends partially failed.
STATUSES = [*JobStatus.values, "partially_failed"]


class JobQuerySerializer(QueryInput):
    kind = serializers.ChoiceField(choices=sorted(KINDS), required=False)
    status = serializers.ChoiceField(choices=STATUSES, required=False)


class JobProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField(allow_null=True)
    unit = serializers.CharField()


class JobStarterSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()


class JobSerializer(serializers.ModelSerializer):
    """The shape of `selectors.summary_of`, which renders it (webhooks carry it too)."""

    id = serializers.IntegerField(source="job_id")
    progress = JobProgressSerializer()
    created_by = JobStarterSerializer(allow_null=True)
    url = serializers.CharField()

    class Meta:
        model = JobListing
        fields = [
            "kind", "id", "status", "progress", "error", "created_by", "created_at",
            "started_at", "finished_at", "url",
        ]  # fmt: skip

    def to_representation(self, job: JobListing) -> dict:
        return summary_of(job)
