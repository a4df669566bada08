from rest_framework import serializers

from apps.datasets.importers.records import AnnotationSource, GeometryType
from apps.datasets.importers.validation import MAX_COORDINATE, MAX_JSON_DEPTH, too_deep
from apps.datasets.models import Annotation, DataRow, Dataset, ImportFormat, ImportJob
from loupe.api.inputs import JsonInput, QueryInput


class DatasetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Dataset
        fields = ["id", "project", "name", "description", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


def _contains_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(v) for v in value)
    return False


def shallow(value):
    """Refuse JSON nested past MAX_JSON_DEPTH, before anything walks it."""
    if too_deep(value):
        raise serializers.ValidationError(f"must not nest deeper than {MAX_JSON_DEPTH} levels")
    return value


def no_nul(value):
    """Postgres stores no NUL character in text or JSON: refuse it here, as a 400."""
    if _contains_nul(value):
        raise serializers.ValidationError("must not contain the NUL character (\\u0000)")
    return value


class DatasetQuerySerializer(QueryInput):
    project = serializers.IntegerField(required=False, min_value=1)


class DatasetInputSerializer(JsonInput):
    project = serializers.IntegerField()
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, required=False, default="")


class AnnotationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Annotation
        fields = [
            "id",
            "data_row",
            "class_name",
            "geometry_type",
            "geometry",
            "attributes",
            "source",
            "area",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "data_row", "area", "created_at", "updated_at"]


class AnnotationInputSerializer(JsonInput):
    class_name = serializers.CharField(max_length=200, validators=[no_nul])
    geometry_type = serializers.ChoiceField(choices=[g.value for g in GeometryType])
    geometry = serializers.JSONField(
        required=False, allow_null=True, default=None, validators=[no_nul]
    )
    attributes = serializers.DictField(required=False, default=dict, validators=[shallow, no_nul])
    source = serializers.ChoiceField(choices=[s.value for s in AnnotationSource], default="human")

    def validate(self, data):
        geometry_type, geometry = data.get("geometry_type"), data.get("geometry")
        if geometry_type == GeometryType.BBOX and not _is_bbox(geometry):
            raise serializers.ValidationError(
                {"geometry": ["a bbox is {x, y, w, h} with w, h > 0"]}
            )
        if geometry_type == GeometryType.POLYGON and not _is_polygon(geometry):
            raise serializers.ValidationError(
                {"geometry": ["a polygon is {points: [[x, y], ...]} of 3+ points"]}
            )
        if geometry_type == GeometryType.NONE and geometry is not None:
            raise serializers.ValidationError({"geometry": ["a classification has no geometry"]})
        return data


def _number(value) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and abs(value) <= MAX_COORDINATE
    )


def _is_bbox(geometry) -> bool:
    return (
        isinstance(geometry, dict)
        and set(geometry) == {"x", "y", "w", "h"}
        and all(_number(v) for v in geometry.values())
        and geometry["w"] > 0
        and geometry["h"] > 0
    )


def _is_polygon(geometry) -> bool:
    points = geometry.get("points") if isinstance(geometry, dict) else None
    return (
        isinstance(points, list)
        and len(points) >= 3
        and all(isinstance(p, list) and len(p) == 2 and all(_number(c) for c in p) for p in points)
    )


class DataRowSerializer(serializers.ModelSerializer):
    annotations = AnnotationSerializer(many=True, read_only=True)

    class Meta:
        model = DataRow
        fields = [
            "id",
            "dataset",
            "external_id",
            "media_uri",
            "width",
            "height",
            "metadata",
            "tags",
            "annotations",
            "created_at",
            "updated_at",
        ]


class DataRowPatchSerializer(JsonInput):
    metadata = serializers.DictField(required=False, validators=[shallow, no_nul])
    tags = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, validators=[no_nul]
    )


class ImportJobSerializer(serializers.ModelSerializer):
    total = serializers.IntegerField(read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "dataset",
            "format",
            "status",
            "source_uri",
            "total",
            "created",
            "updated",
            "unchanged",
            "failed",
            "errors",
            "detail",
            "waiting_for",
            "notify",
            "created_at",
            "started_at",
            "finished_at",
        ]


class ImportRequestSerializer(JsonInput):
    format = serializers.ChoiceField(choices=ImportFormat.values)
    file = serializers.FileField(required=False)
    source_uri = serializers.CharField(required=False, allow_blank=False, max_length=1000)
    notify = serializers.BooleanField(
        required=False, default=False, help_text="e-mail the submitter when the import ends"
    )
