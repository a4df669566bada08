from rest_framework import serializers

from apps.jobs.models import JobStatus
from apps.predictions.models import Evaluation, InferenceRun, Prediction
from loupe.api.inputs import JsonInput, QueryInput


class PredictionSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model_version.model.name")
    version = serializers.IntegerField(source="model_version.version")
    # `class` is a Python keyword, so the field is declared through the class namespace.
    locals()["class"] = serializers.CharField(source="class_name")

    class Meta:
        model = Prediction
        fields = [
            "id", "model", "version", "model_version", "class", "score", "rank",
            "geometry_type", "geometry", "area", "source", "eval", "iou", "matched_annotation",
        ]  # fmt: skip


class RowPredictionQuerySerializer(QueryInput):
    model = serializers.CharField(required=False, max_length=200)
    version = serializers.IntegerField(required=False, min_value=1)


class JobInputSerializer(JsonInput):
    """What an inference run or an evaluation is run over: a version and a slice's snapshot
    (without one, the slice is frozen now)."""

    model_version = serializers.IntegerField(min_value=1)
    slice = serializers.IntegerField(min_value=1)
    snapshot = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    notify = serializers.BooleanField(required=False, default=False)


class JobQuerySerializer(QueryInput):
    status = serializers.ChoiceField(choices=JobStatus.choices, required=False)
    model_version = serializers.IntegerField(min_value=1, required=False)


class _VersionJobSerializer(serializers.ModelSerializer):
    snapshot = serializers.IntegerField(source="snapshot.number", read_only=True)
    model = serializers.CharField(source="model_version.model.name", read_only=True)
    version = serializers.IntegerField(source="model_version.version", read_only=True)

    JOB_FIELDS = [
        "id", "status", "model", "version", "model_version", "slice", "snapshot", "rows_total",
        "error", "waiting_for", "attempts", "notify", "created_at", "started_at", "finished_at",
    ]  # fmt: skip


class InferenceRunSerializer(_VersionJobSerializer):
    class Meta:
        model = InferenceRun
        fields = [
            *_VersionJobSerializer.JOB_FIELDS,
            "rows_done", "rows_skipped", "predictions_written", "chunk_size", "batch_size",
            "device",
        ]  # fmt: skip


class EvaluationSerializer(_VersionJobSerializer):
    class Meta:
        model = Evaluation
        fields = [*_VersionJobSerializer.JOB_FIELDS, "task", "metrics"]


class CompareQuerySerializer(QueryInput):
    slice = serializers.IntegerField(min_value=1)
    snapshot = serializers.IntegerField(min_value=1)


class ComparedVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    model_version = serializers.IntegerField()
    spec = serializers.CharField()
    evaluation = serializers.IntegerField()
    evaluated_at = serializers.DateTimeField()
    metrics = serializers.DictField()


class ModelCompareSerializer(serializers.Serializer):
    model = serializers.CharField()
    task = serializers.CharField()
    slice = serializers.IntegerField()
    snapshot = serializers.IntegerField()
    versions = ComparedVersionSerializer(many=True)
