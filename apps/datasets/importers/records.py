"""What every importer yields, whatever the format: parsed rows, or errors that say where.

Importers are pure: they read a file and yield these values, with no database, Celery or
Django involved, so each can be tested alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class GeometryType(StrEnum):
    BBOX = "bbox"  # {"x", "y", "w", "h"} in pixels, from the top-left corner
    POLYGON = "polygon"  # {"points": [[x, y], ...]} (three points or more)
    NONE = "none"  # a classification label on the whole image


class AnnotationSource(StrEnum):
    HUMAN = "human"
    MODEL = "model"


@dataclass(frozen=True)
class ParsedAnnotation:
    class_name: str
    geometry_type: GeometryType
    geometry: dict | None
    attributes: dict = field(default_factory=dict)
    source: AnnotationSource = AnnotationSource.HUMAN


@dataclass(frozen=True)
class ParsedRow:
    """One data row. `line` is where it came from: a line number (JSONL, CSV), an image's
    index (COCO), or an entry name (ZIP)."""

    line: int | str
    external_id: str
    media_uri: str
    width: int | None = None
    height: int | None = None
    metadata: dict = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    annotations: tuple[ParsedAnnotation, ...] = ()
    # A media file the importer extracted and that must be stored (ZIP imports): the path
    # of a temporary file, and the name to store it under, relative to the dataset.
    media_file: str | None = None
    # The digest of that file's bytes: part of the row's content, so an image replaced by
    # another of the same size updates its row.
    media_digest: str | None = None


@dataclass(frozen=True)
class RowError:
    line: int | str
    field: str | None
    message: str


class FileRejected(Exception):
    """The whole file is unusable (not the format, a hostile archive): nothing is imported."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def __reduce__(self):  # raised in the staging process, raised again in the worker
        return (FileRejected, (self.code, self.message))
