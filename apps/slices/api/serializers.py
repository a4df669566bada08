from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.datasets.api.serializers import DataRowSerializer, no_nul
from apps.slices.facets import FACETABLE, MAX_FIELDS, MAX_SIZE
from apps.slices.models import Slice, SliceSnapshot
from apps.slices.searching import Backend
from loupe.api.inputs import JsonInput, QueryInput
from search.query.parser import MAX_QUERY_LENGTH

BACKENDS = [backend.value for backend in Backend]


class _QueryField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(
            allow_blank=True, trim_whitespace=False, max_length=MAX_QUERY_LENGTH, **kwargs
        )


class SearchRequestSerializer(JsonInput):
    query = _QueryField(default="", help_text="in the query language; blank: every row")
    datasets = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        allow_empty=False,
        max_length=1000,
        help_text="only rows of these datasets; leave it out for every dataset",
    )
    page_size = serializers.IntegerField(min_value=1, max_value=1000, default=50)
    cursor = serializers.CharField(required=False, allow_blank=True, max_length=200)
    backend = serializers.ChoiceField(choices=BACKENDS, default=Backend.AUTO.value)


class CountRequestSerializer(JsonInput):
    query = _QueryField(default="")
    datasets = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        allow_empty=False,
        max_length=1000,
        help_text="only rows of these datasets; leave it out for every dataset",
    )
    backend = serializers.ChoiceField(choices=BACKENDS, default=Backend.AUTO.value)


class RowsPageSerializer(serializers.Serializer):
    backend = serializers.ChoiceField(choices=BACKENDS)
    total = serializers.IntegerField()
    rows = DataRowSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)
    index_pending = serializers.BooleanField(
        help_text="Elasticsearch answered while changes were still on their way to its index"
    )


class CountSerializer(serializers.Serializer):
    backend = serializers.ChoiceField(choices=BACKENDS)
    count = serializers.IntegerField()
    index_pending = serializers.BooleanField(
        help_text="Elasticsearch answered while changes were still on their way to its index"
    )


class PredictedBySerializer(JsonInput):
    """The model (and version) whose predicted objects `prediction.class` counts."""

    model = serializers.CharField(max_length=200, validators=[no_nul], help_text="its name")
    version = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, required=False, help_text="leave it out for every one"
    )


class FacetRequestSerializer(JsonInput):
    """Which fields' values to count, among the rows a query matches (docs/facets.md)."""

    query = _QueryField(default="", help_text="in the query language; blank: every row")
    datasets = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        allow_empty=False,
        max_length=1000,
        help_text="only rows of these datasets; leave it out for every dataset",
    )
    fields = serializers.ListField(
        child=serializers.CharField(max_length=1000),
        allow_empty=False,
        max_length=MAX_FIELDS,
        help_text=f"the fields whose values to count: {', '.join(FACETABLE)}",
    )
    size = serializers.IntegerField(
        min_value=1, max_value=MAX_SIZE, default=10, help_text="the most values per field"
    )
    predicted_by = PredictedBySerializer(
        required=False, help_text="count prediction.class over this model's predictions only"
    )
    backend = serializers.ChoiceField(choices=BACKENDS, default=Backend.AUTO.value)


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]})
class _FacetValueField(serializers.JSONField):
    """A string, a number or a boolean, as the schema says (a JSONField says any JSON)."""


class FacetBucketSerializer(serializers.Serializer):
    value = _FacetValueField()
    count = serializers.IntegerField(help_text="matching rows holding the value")


class FacetsSerializer(serializers.Serializer):
    backend = serializers.ChoiceField(choices=BACKENDS)
    total = serializers.IntegerField(help_text="the rows the query matches, exactly")
    facets = serializers.DictField(
        child=FacetBucketSerializer(many=True),
        help_text="by field: its most frequent values, most rows first, then by value",
    )
    other = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="by field: the labels, predicted objects, tagged rows or metadata values "
        "beyond the values listed",
    )
    index_pending = serializers.BooleanField(
        help_text="Elasticsearch answered while changes were still on their way to its index"
    )


class PageRequestSerializer(QueryInput):
    page_size = serializers.IntegerField(min_value=1, max_value=1000, default=50)
    cursor = serializers.CharField(required=False, allow_blank=True, max_length=200)


class SliceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Slice
        fields = ["id", "dataset", "name", "query", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class SliceInputSerializer(JsonInput):
    name = serializers.CharField(max_length=200, validators=[no_nul])
    dataset = serializers.IntegerField(min_value=1)
    query = _QueryField(default="")


class SlicePatchSerializer(JsonInput):
    name = serializers.CharField(max_length=200, required=False, validators=[no_nul])
    query = _QueryField(required=False)


class SnapshotSerializer(serializers.ModelSerializer):
    slice = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = SliceSnapshot
        fields = ["slice", "number", "query", "row_count", "created_at"]


class SliceListQuerySerializer(QueryInput):
    dataset = serializers.IntegerField(min_value=1, required=False)


class FieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.CharField()
    scope = serializers.ChoiceField(choices=["row", "label", "prediction"])
    operators = serializers.ListField(child=serializers.CharField())
    types = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="metadata keys: value types seen"
    )


class SearchFieldsSerializer(serializers.Serializer):
    fields = FieldSerializer(many=True)
    label_fields = FieldSerializer(many=True)
    prediction_fields = FieldSerializer(many=True)
    metadata_keys_from = serializers.ChoiceField(choices=["elasticsearch", "postgres"])
