"""The rules every import format shares: what a row and its annotations must look like.

Each `check_*` function returns the cleaned value or raises `InvalidField`, whose message
says what to fix; an importer turns it into a `RowError` on the line it was reading.
"""

from __future__ import annotations

import functools
import itertools
import math

from apps.datasets.importers.records import (
    AnnotationSource,
    GeometryType,
    ParsedAnnotation,
    ParsedRow,
)

MAX_EXTERNAL_ID_LENGTH = 255
ROW_KEYS = ("external_id", "media_uri", "width", "height", "metadata", "tags", "annotations")
ANNOTATION_KEYS = ("class", "bbox", "polygon", "attributes", "source")


class InvalidField(Exception):
    """A value that breaks a rule: `field` names it (None for the whole row)."""

    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def row_from_object(obj: object, *, line: int | str, media_uri_required: bool = True) -> ParsedRow:
    """A row in the JSONL shape (also a ZIP manifest's lines), validated whole. Without
    `media_uri_required`, a media_uri left out is "" (a manifest line may name its image
    by external_id alone)."""
    if not isinstance(obj, dict):
        raise InvalidField(None, f"a row must be a JSON object {{...}}; got {json_type(obj)}")
    check_known_keys(obj, ROW_KEYS, field=None)
    media_uri = obj.get("media_uri")
    return ParsedRow(
        line=line,
        external_id=check_external_id(obj.get("external_id")),
        media_uri=""
        if media_uri is None and not media_uri_required
        else check_media_uri(media_uri),
        width=check_size(obj.get("width"), "width"),
        height=check_size(obj.get("height"), "height"),
        metadata=check_object(obj.get("metadata"), "metadata"),
        tags=check_tags(obj.get("tags")),
        annotations=check_annotations(obj.get("annotations")),
    )


def check_known_keys(obj: dict, allowed: tuple[str, ...], *, field: str | None) -> None:
    if obj.keys() <= _key_set(allowed):
        return
    unknown = sorted(key for key in obj if key not in allowed)
    if unknown:
        names = ", ".join(repr(key) for key in unknown)
        raise InvalidField(
            field or unknown[0],
            f"unknown key{'s' if len(unknown) > 1 else ''} {names}; "
            f"allowed keys are {', '.join(allowed)}",
        )


@functools.cache
def _key_set(keys: tuple[str, ...]) -> frozenset[str]:
    return frozenset(keys)


def check_external_id(value: object, field: str = "external_id") -> str:
    if value is None:
        raise InvalidField(field, f"{field} is required: a string of 1 to 255 characters")
    if not isinstance(value, str):
        raise InvalidField(field, f"{field} must be a string; got {json_type(value)}")
    if not value.strip():
        raise InvalidField(field, f"{field} must not be empty")
    if len(value) > MAX_EXTERNAL_ID_LENGTH:
        raise InvalidField(
            field,
            f"{field} is {len(value)} characters long; "
            f"shorten it to {MAX_EXTERNAL_ID_LENGTH} characters or fewer",
        )
    return value


def check_media_uri(value: object) -> str:
    if value is None:
        raise InvalidField("media_uri", "media_uri is required: the image's URI or path")
    if not isinstance(value, str):
        raise InvalidField("media_uri", f"media_uri must be a string; got {json_type(value)}")
    if not value.strip():
        raise InvalidField("media_uri", "media_uri must not be empty")
    return value


def check_size(value: object, field: str) -> int | None:
    """A width or height in pixels: absent (None) or a whole number above zero."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        shown = value if _all_numbers([value]) else json_type(value)
        raise InvalidField(field, f"{field} must be a whole number of pixels above 0; got {shown}")
    return value


# Objects and arrays within one another, at most: deeper JSON is refused at the door rather
# than left to break indexing and recursion further down.
MAX_JSON_DEPTH = 32
# As tuples rather than `dict | list`: a union is built anew each time the line runs.
_CONTAINERS = (dict, list)
_SEQUENCES = (list, tuple)


def check_object(value: object, field: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidField(field, f"{field} must be a JSON object {{...}}; got {json_type(value)}")
    if too_deep(value):
        raise InvalidField(field, f"{field} nests deeper than {MAX_JSON_DEPTH} levels")
    return value


def too_deep(value: object, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether objects and arrays nest more than `limit` levels (walked without recursion)."""
    stack = [(value, 1)] if isinstance(value, _CONTAINERS) else []
    while stack:
        container, depth = stack.pop()
        for child in container.values() if isinstance(container, dict) else container:
            if isinstance(child, _CONTAINERS):
                if depth == limit:
                    return True
                stack.append((child, depth + 1))
    return False


def check_tags(value: object) -> tuple[str, ...]:
    """Tags in their first order, each once."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidField("tags", f"tags must be a list of strings; got {json_type(value)}")
    for tag in value:
        if not isinstance(tag, str) or not tag.strip():
            raise InvalidField("tags", f"each tag must be a non-empty string; got {tag!r}")
    return tuple(dict.fromkeys(value))


def check_annotations(value: object, field: str = "annotations") -> tuple[ParsedAnnotation, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidField(field, f"{field} must be a list of objects; got {json_type(value)}")
    return tuple(check_annotation(item, f"{field}[{i}]") for i, item in enumerate(value))


def check_annotation(item: object, field: str) -> ParsedAnnotation:
    """One annotation: a class, at most one of bbox and polygon (neither: the whole image)."""
    if not isinstance(item, dict):
        raise InvalidField(field, f"an annotation must be a JSON object; got {json_type(item)}")
    check_known_keys(item, ANNOTATION_KEYS, field=field)
    class_name = item.get("class")
    if not isinstance(class_name, str) or not class_name.strip():
        raise InvalidField(f"{field}.class", "class is required: the label's name, a string")
    if "bbox" in item and "polygon" in item:
        raise InvalidField(field, "give either bbox or polygon, not both")
    if "bbox" in item:
        geometry_type = GeometryType.BBOX
        geometry: dict | None = check_bbox(item["bbox"], f"{field}.bbox")
    elif "polygon" in item:
        geometry_type = GeometryType.POLYGON
        geometry = check_polygon(item["polygon"], f"{field}.polygon")
    else:
        geometry_type, geometry = GeometryType.NONE, None
    return ParsedAnnotation(
        class_name=class_name,
        geometry_type=geometry_type,
        geometry=geometry,
        attributes=check_object(item.get("attributes"), f"{field}.attributes"),
        source=check_source(item.get("source"), f"{field}.source"),
    )


def check_bbox(value: object, field: str) -> dict:
    """[x, y, w, h] in pixels, as the {"x", "y", "w", "h"} geometry; w and h above zero."""
    if not isinstance(value, _SEQUENCES) or len(value) != 4:
        got = f"{len(value)} values" if isinstance(value, _SEQUENCES) else json_type(value)
        raise InvalidField(field, f"bbox must be 4 numbers [x, y, w, h]; got {got}")
    if not _all_numbers(value):
        raise InvalidField(field, f"bbox must be 4 numbers [x, y, w, h] within ±1e9; got {value!r}")
    x, y, w, h = value
    if w <= 0 or h <= 0:
        raise InvalidField(field, f"bbox width and height must be above 0; got w={w}, h={h}")
    return {"x": x, "y": y, "w": w, "h": h}


def check_polygon(value: object, field: str) -> dict:
    """[[x, y], ...] with three points or more, as the {"points": [...]} geometry."""
    if not isinstance(value, list):
        raise InvalidField(
            field, f"polygon must be a list of [x, y] points; got {json_type(value)}"
        )
    if len(value) < 3:
        raise InvalidField(field, f"polygon needs at least 3 points [x, y]; got {len(value)}")
    # Checked a whole list at a time, in C: polygons can have thousands of points.
    pairs = set(map(type, value)) <= {list, tuple} and set(map(len, value)) == {2}
    if not pairs or not _all_numbers(list(itertools.chain.from_iterable(value))):
        raise InvalidField(field, "polygon points must each be [x, y], two numbers within ±1e9")
    return {"points": list(map(list, value))}


def check_source(value: object, field: str) -> AnnotationSource:
    if value is None:
        return AnnotationSource.HUMAN
    try:
        return AnnotationSource(value)
    except ValueError:
        allowed = " or ".join(f'"{source}"' for source in AnnotationSource)
        raise InvalidField(field, f"source must be {allowed}; got {value!r}") from None


def reject_json_constant(name: str) -> None:
    """For `json.loads(parse_constant=...)`: NaN and Infinity are not JSON, nor storable."""
    raise ValueError(f"{name} is not a number JSON allows; use a finite number or null")


def finite_float(text: str) -> float:
    """For `json.loads(parse_float=...)`: a number too large for a float is refused, not
    read as infinity."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is too large a number; the largest is about 1.8e308")
    return value


def json_type(value: object) -> str:
    """What a decoded JSON value is, in JSON's words, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# Beyond any image: a coordinate past it is an error, and the area Postgres computes from
# the geometry stays far from overflow.
MAX_COORDINATE = 1e9
_NUMBER_TYPES = frozenset({int, float})


def _all_numbers(values: list | tuple) -> bool:
    """Whether every value is an int or float (not a bool, whose type is not int) within
    MAX_COORDINATE of zero."""
    try:
        return set(map(type, values)) <= _NUMBER_TYPES and max(map(abs, values)) <= MAX_COORDINATE
    except OverflowError:  # an integer too large for a float
        return False
