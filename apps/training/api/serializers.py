from rest_framework import serializers

from apps.datasets.api.serializers import no_nul, shallow
from apps.jobs.models import JobStatus
from apps.training.models import Model, ModelVersion, TrainingRun
from loupe.api.inputs import JsonInput, QueryInput


class HyperparameterSerializer(serializers.Serializer):
    type = serializers.CharField()
    default = serializers.JSONField()
    min = serializers.FloatField(allow_null=True)
    max = serializers.FloatField(allow_null=True)
    choices = serializers.ListField(child=serializers.CharField(), allow_null=True)
    help = serializers.CharField()


class ModelSpecSerializer(serializers.Serializer):
    name = serializers.CharField()
    task = serializers.CharField()
    family = serializers.CharField()
    description = serializers.CharField()
    hyperparameters = serializers.DictField(child=HyperparameterSerializer())


class TrainingRunInputSerializer(JsonInput):
    name = serializers.CharField(max_length=200, validators=[no_nul])
    spec = serializers.CharField(max_length=64, validators=[no_nul])
    slice = serializers.IntegerField(min_value=1)
    snapshot = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    model = serializers.CharField(max_length=200, required=False, validators=[no_nul])
    hyperparameters = serializers.DictField(required=False, default=dict, validators=[shallow])
    experiment = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True, validators=[no_nul]
    )
    parent_version = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    notify = serializers.BooleanField(required=False, default=False)


class TrainingRunQuerySerializer(QueryInput):
    status = serializers.ChoiceField(choices=JobStatus.choices, required=False)
    experiment = serializers.CharField(max_length=200, required=False, validators=[no_nul])


class TrainingRunSerializer(serializers.ModelSerializer):
    snapshot = serializers.IntegerField(source="snapshot.number", read_only=True)
    epochs = serializers.IntegerField(read_only=True)
    model = serializers.CharField(source="model_name", read_only=True)
    model_version = serializers.SerializerMethodField()
    queue_position = serializers.SerializerMethodField()

    class Meta:
        model = TrainingRun
        fields = [
            "id", "name", "status", "spec", "hyperparameters", "slice", "snapshot", "model",
            "experiment", "parent_version", "notify", "classes", "split", "device", "epoch",
            "epochs", "batch_size", "metrics", "error", "model_version", "queue_position",
            "waiting_for", "attempts", "created_at", "started_at", "finished_at",
        ]  # fmt: skip

    def get_model_version(self, run) -> int | None:
        version = getattr(run, "model_version", None)
        return version.pk if version else None

    def get_queue_position(self, run) -> int | None:
        """1 for the next of the tenant's queued runs to start; null once it has."""
        if run.status != JobStatus.QUEUED:
            return None
        return getattr(run, "queued_ahead", 0) + 1


class RunMetricsSerializer(serializers.Serializer):
    epochs = serializers.ListField(child=serializers.IntegerField())
    series = serializers.DictField(child=serializers.ListField(allow_null=True))


class ComparedHyperparameterSerializer(serializers.Serializer):
    name = serializers.CharField()
    differs = serializers.BooleanField()
    values = serializers.ListField(child=serializers.JSONField(allow_null=True))


class ComparedRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()
    spec = serializers.CharField()
    hyperparameters = serializers.DictField()
    metrics = serializers.DictField()
    model_version = serializers.IntegerField(allow_null=True)
    epochs = serializers.ListField(child=serializers.IntegerField())
    series = serializers.DictField(child=serializers.ListField(allow_null=True))
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class ExperimentComparisonSerializer(serializers.Serializer):
    experiment = serializers.CharField()
    slice = serializers.IntegerField()
    snapshot = serializers.IntegerField()
    hyperparameters = ComparedHyperparameterSerializer(many=True)
    runs = ComparedRunSerializer(many=True)


class ModelVersionSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model.name", read_only=True)
    slice = serializers.IntegerField(source="snapshot.slice_id", read_only=True, allow_null=True)
    snapshot = serializers.IntegerField(source="snapshot.number", read_only=True, allow_null=True)

    class Meta:
        model = ModelVersion
        fields = [
            "id", "model", "version", "spec", "classes", "hyperparameters", "metrics",
            "training_run", "slice", "snapshot", "created_at",
        ]  # fmt: skip


class ModelSerializer(serializers.ModelSerializer):
    latest_version = serializers.IntegerField(read_only=True, allow_null=True)
    versions = serializers.IntegerField(source="version_count", read_only=True)

    class Meta:
        model = Model
        fields = ["id", "name", "task", "latest_version", "versions", "created_at"]
