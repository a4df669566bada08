"""Request input checked by a serializer."""

from __future__ import annotations

from collections.abc import Mapping

from django.http import QueryDict
from rest_framework import serializers

# Each field class and the JSON types its value may have in a JSON body. A subclass takes
# its base's types (EmailField and ChoiceField of strings are CharFields' and strings).
_JSON_TYPES: tuple[tuple[type[serializers.Field], tuple[type, ...], str], ...] = (
    (serializers.BooleanField, (bool,), "a boolean"),
    (serializers.CharField, (str,), "a string"),
    (serializers.IntegerField, (int,), "an integer"),
    (serializers.FloatField, (int, float), "a number"),
    (serializers.ListField, (list,), "a list"),
    (serializers.DictField, (dict,), "an object"),
)


def valid(serializer_class, data) -> dict:
    """The serializer's validated data; a ValidationError (400, with its fields) otherwise."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class JsonInput(serializers.Serializer):
    """A JSON body whose fields must have the JSON types the schema gives them. DRF alone
    takes 0 for a name, "1" for a count and 1 for true; a client sending those has a bug it
    should hear of. A form (an upload's multipart fields, a query string) is text by nature,
    so its values are left to DRF's conversion."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping) and not isinstance(data, QueryDict):
            wrong = {
                name: [problem]
                for name, field in self.fields.items()
                if not field.read_only
                and field.source != "*"
                and (problem := _type_problem(field, data.get(name)))
            }
            if wrong:
                raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)


def _type_problem(field: serializers.Field, value) -> str | None:
    """What is wrong with the type of `value` for `field`, or None (absent and null values
    are the field's own to judge)."""
    if value is None:
        return None
    for field_class, types, name in _JSON_TYPES:
        if isinstance(field, field_class):
            # bool is an int to Python, never a number to a JSON client.
            if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
                return f"Must be {name}."
            break
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        for item in value:
            if problem := _type_problem(field.child, item):
                return f"Every item must be {problem.removeprefix('Must be ')}"
    return None


class QueryInput(serializers.Serializer):
    """A query string's parameters. DRF reads a form's empty value as "not sent", so
    `?dataset=` would list every dataset's slices; here it is the value it is, and a field
    that cannot be empty refuses it. A parameter sent twice counts by its last value."""

    def to_internal_value(self, data):
        if isinstance(data, QueryDict):
            data = {name: data.get(name) for name in data}
        return super().to_internal_value(data)
