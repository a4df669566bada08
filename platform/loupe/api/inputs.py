"""Request input checked by a serializer."""

from __future__ import annotations


def valid(serializer_class, data) -> dict:
    """The serializer's validated data; a ValidationError (400, with its fields) otherwise."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
