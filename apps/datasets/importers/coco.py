"""COCO object detection JSON: `images`, `categories` and `annotations` in one document.

An image's annotations can lie anywhere in the file, so the importer reads the document once,
streaming, into a scratch SQLite database on disk (indexed by image id), and then builds one
row per image from it: memory stays bounded whatever the file's size.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing

from apps.datasets.importers.json_stream import JsonStreamError, TopLevelArrays
from apps.datasets.importers.records import (
    AnnotationSource,
    FileRejected,
    GeometryType,
    ParsedAnnotation,
    ParsedRow,
    RowError,
)
from apps.datasets.importers.validation import (
    InvalidField,
    check_bbox,
    check_external_id,
    check_polygon,
    check_size,
    json_type,
)

IMAGE_KEYS = ("id", "file_name", "width", "height")
# The image key a row's media_uri comes from, when the image has one.
MEDIA_URI_KEY = "coco_url"
# The metadata key that keeps an image's COCO id.
COCO_ID_KEY = "coco_id"
ANNOTATION_ATTRIBUTES = ("iscrowd", "area", "score")

_SCHEMA = """
CREATE TABLE images (idx INTEGER PRIMARY KEY, image_id INTEGER, body TEXT NOT NULL);
CREATE INDEX images_by_id ON images (image_id, idx);
CREATE TABLE categories (idx INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE category_names (category_id INTEGER PRIMARY KEY, idx INTEGER, name TEXT);
CREATE TABLE annotations (
    idx INTEGER PRIMARY KEY, image_id INTEGER, category_id INTEGER, body TEXT NOT NULL
);
CREATE INDEX annotations_by_image ON annotations (image_id, idx);
"""
_SQLITE_INTEGER = range(-(2**63), 2**63)


class CocoImporter:
    """Reads a COCO detection file: one row per entry of `images`.

    Raises `FileRejected` before yielding anything when the file is not a JSON object with
    an `images` array (code `not_coco`), or when one of its categories is unusable
    (`invalid_categories`): the categories are the file's vocabulary, as a CSV header is,
    so a bad one refuses the file rather than the images that happen to use it. Then yields
    one `ParsedRow` or `RowError` per image (`images[i]`; an image with a bad annotation is
    refused whole, naming it), and a `RowError` per annotation whose image_id matches no
    image (`annotations[i]`).

    The row's external_id is the image's file_name, and so is its media_uri unless the
    image has a `coco_url` (a non-empty string), which a Loupe export writes for a row whose
    media_uri is not its external_id. The image's id is kept in the row's metadata as
    `coco_id` (a model's COCO results name images by it), and its other keys become
    metadata too. An image with a `coco_id` of its own keeps that one: a Loupe export
    writes the row's id as `id` and the first file's id as `coco_id`, so exporting and
    importing again changes nothing. An annotation's first segmentation polygon is its
    geometry, else its bbox; iscrowd, area and score become attributes, and a score marks
    it as a model's.

    `work_dir` holds the scratch database (the system's temporary directory by default).
    """

    def __init__(self, path: str | os.PathLike[str], *, work_dir: str | None = None) -> None:
        self._path = path
        self._work_dir = work_dir

    def iter_records(self) -> Iterator[ParsedRow | RowError]:
        with (
            tempfile.TemporaryDirectory(dir=self._work_dir, prefix="coco-") as scratch,
            closing(sqlite3.connect(os.path.join(scratch, "coco.sqlite3"))) as db,
        ):
            db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;" + _SCHEMA)
            self._load(db)
            _check_categories(db)
            for idx, body in db.execute("SELECT idx, body FROM images ORDER BY idx"):
                yield _image_row(db, idx, json.loads(body))
            yield from _orphan_annotation_errors(db)

    def _load(self, db: sqlite3.Connection) -> None:
        """One streaming pass over the file into the scratch database."""
        try:
            with open(self._path, encoding="utf-8-sig") as stream:
                arrays = TopLevelArrays(stream, ("images", "categories", "annotations"))
                with db:
                    for key, index, item in arrays:
                        _store(db, key, index, item)
        except (JsonStreamError, UnicodeDecodeError) as error:
            raise FileRejected("not_coco", f"not a COCO JSON file: {error}") from None
        if "images" not in arrays.found:
            raise FileRejected("not_coco", 'not a COCO JSON file: it has no "images" array')


def _store(db: sqlite3.Connection, key: str, index: int, item: object) -> None:
    body = json.dumps(item)
    fields = item if isinstance(item, dict) else {}
    if key == "images":
        db.execute("INSERT INTO images VALUES (?, ?, ?)", (index, _id(fields.get("id")), body))
    elif key == "categories":
        db.execute("INSERT INTO categories VALUES (?, ?)", (index, body))
    else:
        db.execute(
            "INSERT INTO annotations VALUES (?, ?, ?, ?)",
            (index, _id(fields.get("image_id")), _id(fields.get("category_id")), body),
        )


def _check_categories(db: sqlite3.Connection) -> None:
    """Keeps each category's name by its id; raises FileRejected (`invalid_categories`) at
    the first that has no integer id, no name, or an id an earlier one took."""
    with db:
        for idx, body in db.execute("SELECT idx, body FROM categories ORDER BY idx"):
            category = json.loads(body)
            if not isinstance(category, dict) or _id(category.get("id")) is None:
                _refuse_category(idx, "has no integer id")
            name = category.get("name")
            if not isinstance(name, str) or not name.strip():
                _refuse_category(idx, "has no name")
            first = db.execute(
                "SELECT idx FROM category_names WHERE category_id = ?", (category["id"],)
            ).fetchone()
            if first:
                _refuse_category(idx, f"repeats the id of categories[{first[0]}]")
            db.execute("INSERT INTO category_names VALUES (?, ?, ?)", (category["id"], idx, name))


def _refuse_category(idx: int, problem: str) -> None:
    raise FileRejected(
        "invalid_categories",
        f"categories[{idx}] {problem}; each category needs an integer id of its own and a "
        "non-empty name: fix the categories and import the file again",
    )


def _image_row(db: sqlite3.Connection, idx: int, image: object) -> ParsedRow | RowError:
    line = f"images[{idx}]"
    try:
        if not isinstance(image, dict):
            raise InvalidField(None, f"an image must be an object; got {json_type(image)}")
        image_id = _id(image.get("id"))
        if image_id is None:
            raise InvalidField("id", "id is required: the integer annotations refer to")
        file_name = check_external_id(image.get("file_name"), "file_name")
        width = check_size(image.get("width"), "width")
        height = check_size(image.get("height"), "height")
        (first,) = db.execute(
            "SELECT MIN(idx) FROM images WHERE image_id = ?", (image_id,)
        ).fetchone()
        if first != idx:
            raise InvalidField("id", f"id {image_id} is taken by images[{first}]; make ids unique")
        annotations = tuple(_annotations_of(db, image_id))
    except InvalidField as error:
        return RowError(line, error.field, error.message)
    url = _coco_url(image)
    kept_out = IMAGE_KEYS if url is None else (*IMAGE_KEYS, MEDIA_URI_KEY)
    return ParsedRow(
        line=line,
        external_id=file_name,
        media_uri=url or file_name,
        width=width,
        height=height,
        metadata={
            COCO_ID_KEY: image_id,
            **{key: value for key, value in image.items() if key not in kept_out},
        },
        annotations=annotations,
    )


def _coco_url(image: dict) -> str | None:
    """The image's `coco_url`, the row's media_uri, when it is a non-empty string; else
    None (tools write "" for none: that stays metadata, like any other key)."""
    url = image.get(MEDIA_URI_KEY)
    return url if isinstance(url, str) and url.strip() else None


def _annotations_of(db: sqlite3.Connection, image_id: int) -> Iterator[ParsedAnnotation]:
    rows = db.execute(
        "SELECT a.idx, a.body, c.name FROM annotations AS a"
        " LEFT JOIN category_names AS c ON c.category_id = a.category_id"
        " WHERE a.image_id = ? ORDER BY a.idx",
        (image_id,),
    )
    for idx, body, class_name in rows:
        yield _annotation(f"annotations[{idx}]", json.loads(body), class_name)


def _annotation(field: str, annotation: dict, class_name: str | None) -> ParsedAnnotation:
    if class_name is None:
        raise InvalidField(
            f"{field}.category_id",
            f"{field} refers to category {annotation.get('category_id')!r}, "
            "which is not among the categories",
        )
    polygon = _first_polygon(annotation.get("segmentation"), f"{field}.segmentation")
    if polygon is not None:
        geometry_type, geometry = (
            GeometryType.POLYGON,
            check_polygon(polygon, f"{field}.segmentation"),
        )
    else:
        geometry_type, geometry = (
            GeometryType.BBOX,
            check_bbox(annotation.get("bbox"), f"{field}.bbox"),
        )
    return ParsedAnnotation(
        class_name=class_name,
        geometry_type=geometry_type,
        geometry=geometry,
        attributes={key: annotation[key] for key in ANNOTATION_ATTRIBUTES if key in annotation},
        source=AnnotationSource.MODEL if "score" in annotation else AnnotationSource.HUMAN,
    )


def _first_polygon(segmentation: object, field: str) -> list[list] | None:
    """The first polygon of a segmentation, as [x, y] points; None for RLE or none at all."""
    if not isinstance(segmentation, list) or not segmentation:
        return None
    flat = segmentation[0] if isinstance(segmentation[0], list) else segmentation
    if not flat:
        return None
    if len(flat) % 2:
        raise InvalidField(field, f"a polygon is [x1, y1, x2, y2, ...]; got {len(flat)} numbers")
    return [flat[i : i + 2] for i in range(0, len(flat), 2)]


def _orphan_annotation_errors(db: sqlite3.Connection) -> Iterator[RowError]:
    rows = db.execute(
        "SELECT idx, body FROM annotations AS a WHERE a.image_id IS NULL OR NOT EXISTS"
        " (SELECT 1 FROM images AS i WHERE i.image_id = a.image_id) ORDER BY idx"
    )
    for idx, body in rows:
        annotation = json.loads(body)
        line = f"annotations[{idx}]"
        if not isinstance(annotation, dict):
            yield RowError(
                line, None, f"an annotation must be an object; got {json_type(annotation)}"
            )
        elif "image_id" not in annotation or _id(annotation["image_id"]) is None:
            yield RowError(line, "image_id", "image_id is required: the id of an image in images")
        else:
            yield RowError(
                line, "image_id", f"image_id {annotation['image_id']} matches no image in images"
            )


def _id(value: object) -> int | None:
    """A COCO id: an integer SQLite can store, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and value in _SQLITE_INTEGER:
        return value
    return None
