from rest_framework import serializers

from apps.jobs.kinds import KINDS
from apps.jobs.models import JobListing, JobStatus

# Every status a job of some kind can be in: an import also ends partially failed.
STATUSES = [*JobStatus.values, "partially_failed"]


class JobQuerySerializer(serializers.Serializer):
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
    id = serializers.IntegerField(source="job_id")
    progress = serializers.SerializerMethodField()
    created_by = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = JobListing
        fields = [
            "kind", "id", "status", "progress", "error", "created_by", "created_at",
            "started_at", "finished_at", "url",
        ]  # fmt: skip

    def get_progress(self, job) -> JobProgressSerializer:
        return {"done": job.done, "total": job.total, "unit": job.unit}

    def get_created_by(self, job) -> JobStarterSerializer(allow_null=True):
        user = job.created_by
        return {"id": user.pk, "email": user.email} if user else None

    def get_url(self, job) -> str:
        return f"/api/v1/{KINDS[job.kind].resource_path}/{job.job_id}/"
