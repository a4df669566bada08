from rest_framework import serializers

from apps.predictions.files.exports import WRITERS
from apps.predictions.models import PredictionFileFormat, PredictionImport
from apps.training.specs import Task
from loupe.api.inputs import JsonInput, QueryInput


class PredictionImportRequestSerializer(JsonInput):
    file = serializers.FileField()
    format = serializers.ChoiceField(choices=PredictionFileFormat.values)
    dataset = serializers.IntegerField(min_value=1)
    model = serializers.CharField(max_length=100)
    version = serializers.IntegerField(min_value=1, required=False)
    task = serializers.ChoiceField(choices=[task.value for task in Task], required=False)
    # For COCO results: [{"id", "name"}, ...], as JSON text in a multipart form.
    categories = serializers.JSONField(required=False)


class PredictionImportSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model_version.model.name", read_only=True)
    version = serializers.IntegerField(source="model_version.version", read_only=True)

    class Meta:
        model = PredictionImport
        fields = [
            "id", "dataset", "model", "version", "model_version", "format", "status",
            "records_done", "rows_matched", "predictions_written", "failed", "errors",
            "detail", "error", "waiting_for", "attempts", "created_at", "started_at",
            "finished_at",
        ]  # fmt: skip


class PredictionExportQuerySerializer(QueryInput):
    format = serializers.ChoiceField(choices=list(WRITERS))
    dataset = serializers.IntegerField(min_value=1, required=False)
