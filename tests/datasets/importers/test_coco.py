"""The COCO importer: one row per image, its annotations gathered from the whole document."""

from __future__ import annotations

import io
import json
import tracemalloc

import pytest

from apps.datasets.importers import json_stream
from apps.datasets.importers.coco import CocoImporter
from apps.datasets.importers.json_stream import JsonStreamError, TopLevelArrays
from apps.datasets.importers.records import (
    AnnotationSource,
    FileRejected,
    GeometryType,
    ParsedAnnotation,
    ParsedRow,
    RowError,
)


def coco(**overrides):
    document = {
        "info": {"description": "test", "year": 2024},
        "images": [
            {"id": 1, "file_name": "a.jpg", "width": 640, "height": 480, "license": 3},
            {"id": 2, "file_name": "b.jpg", "width": 320, "height": 240},
        ],
        "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "person"}],
        "annotations": [
            {"id": 10, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "iscrowd": 0},
            {
                "id": 11,
                "image_id": 1,
                "category_id": 2,
                "bbox": [0, 0, 10, 10],
                "segmentation": [[0, 0, 10, 0, 10, 10], [5, 5, 6, 5, 6, 6]],
                "area": 50.0,
            },
        ],
    }
    document.update(overrides)
    return document


def write_json(tmp_path, document):
    path = tmp_path / "coco.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def records_of(tmp_path, document):
    return list(CocoImporter(write_json(tmp_path, document)).iter_records())


def errors_of(tmp_path, document):
    return [record for record in records_of(tmp_path, document) if isinstance(record, RowError)]


def test_coco_images_become_rows_with_their_annotations(tmp_path):
    assert records_of(tmp_path, coco()) == [
        ParsedRow(
            line="images[0]",
            external_id="a.jpg",
            media_uri="a.jpg",
            width=640,
            height=480,
            metadata={"coco_id": 1, "license": 3},
            annotations=(
                ParsedAnnotation(
                    "car", GeometryType.BBOX, {"x": 1, "y": 2, "w": 3, "h": 4}, {"iscrowd": 0}
                ),
                ParsedAnnotation(
                    "person",
                    GeometryType.POLYGON,
                    {"points": [[0, 0], [10, 0], [10, 10]]},
                    {"area": 50.0},
                ),
            ),
        ),
        ParsedRow(
            line="images[1]",
            external_id="b.jpg",
            media_uri="b.jpg",
            width=320,
            height=240,
            metadata={"coco_id": 2},
        ),
    ]


def test_coco_image_with_a_coco_id_of_its_own_keeps_it_over_its_id(tmp_path):
    # As a Loupe export writes it: the row's id as `id`, the first file's id in metadata.
    images = [{"id": 41, "coco_id": 1, "file_name": "a.jpg", "width": 5, "height": 5}]
    (row,) = records_of(tmp_path, coco(images=images, annotations=[]))
    assert row.metadata == {"coco_id": 1}


def test_coco_annotations_are_gathered_wherever_they_appear_in_the_document(tmp_path):
    document = coco()
    reordered = {key: document[key] for key in ("annotations", "categories", "images")}

    assert records_of(tmp_path, reordered) == records_of(tmp_path, document)


def test_coco_parses_the_same_whatever_the_read_size(tmp_path, monkeypatch):
    expected = records_of(tmp_path, coco())
    monkeypatch.setattr(json_stream, "CHUNK_CHARS", 3)

    assert records_of(tmp_path, coco()) == expected


def test_coco_score_marks_an_annotation_as_a_models(tmp_path):
    annotation = {"image_id": 2, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.9}

    row = records_of(tmp_path, coco(annotations=[annotation]))[1]

    assert row.annotations[0].source == AnnotationSource.MODEL
    assert row.annotations[0].attributes == {"score": 0.9}


def test_coco_rle_segmentation_falls_back_to_the_bbox(tmp_path):
    rle = {"counts": [0, 5, 10], "size": [240, 320]}
    annotation = {"image_id": 2, "category_id": 1, "bbox": [0, 0, 5, 5], "segmentation": rle}

    row = records_of(tmp_path, coco(annotations=[annotation]))[1]

    assert row.annotations[0].geometry_type == GeometryType.BBOX


def test_coco_annotation_for_an_unknown_image_is_an_error(tmp_path):
    annotation = {"image_id": 99, "category_id": 1, "bbox": [0, 0, 5, 5]}

    assert errors_of(tmp_path, coco(annotations=[annotation])) == [
        RowError("annotations[0]", "image_id", "image_id 99 matches no image in images")
    ]


def test_coco_annotation_with_an_unknown_category_refuses_its_image(tmp_path):
    annotation = {"image_id": 2, "category_id": 7, "bbox": [0, 0, 5, 5]}

    records = records_of(tmp_path, coco(annotations=[annotation]))

    assert isinstance(records[1], RowError)
    assert (records[1].line, records[1].field) == ("images[1]", "annotations[0].category_id")


def test_coco_annotation_with_a_bad_bbox_refuses_its_image(tmp_path):
    annotation = {"image_id": 2, "category_id": 1, "bbox": [0, 0, 0, 5]}

    (error,) = errors_of(tmp_path, coco(annotations=[annotation]))

    assert (error.line, error.field) == ("images[1]", "annotations[0].bbox")


def test_coco_image_without_a_file_name_is_an_error(tmp_path):
    (error,) = errors_of(tmp_path, coco(images=[{"id": 1, "width": 5, "height": 5}]))

    assert (error.line, error.field) == ("images[0]", "file_name")


def test_coco_image_coco_url_is_its_rows_media_uri_unless_empty(tmp_path):
    images = [
        {"id": 1, "file_name": "a.jpg", "coco_url": "http://images.example.com/a.jpg"},
        {"id": 2, "file_name": "b.jpg", "coco_url": ""},
    ]

    first, second = records_of(tmp_path, coco(images=images, annotations=[]))

    assert (first.media_uri, first.metadata) == ("http://images.example.com/a.jpg", {"coco_id": 1})
    assert (second.media_uri, second.metadata) == ("b.jpg", {"coco_id": 2, "coco_url": ""})


def test_coco_image_id_used_twice_is_an_error_on_the_second_image(tmp_path):
    images = [{"id": 1, "file_name": "a.jpg"}, {"id": 1, "file_name": "b.jpg"}]

    (error,) = errors_of(tmp_path, coco(images=images, annotations=[]))

    assert (error.line, error.field) == ("images[1]", "id")


@pytest.mark.parametrize(
    ("category", "problem"),
    [
        pytest.param({"id": 2}, "categories[1] has no name;", id="no name"),
        pytest.param({"id": 2, "name": " "}, "categories[1] has no name;", id="a blank name"),
        pytest.param({"name": "bus"}, "categories[1] has no integer id;", id="no id"),
        pytest.param({"id": "2", "name": "bus"}, "categories[1] has no integer id;", id="text id"),
        pytest.param(
            {"id": 1, "name": "bus"},
            "categories[1] repeats the id of categories[0];",
            id="an id twice",
        ),
    ],
)
def test_coco_file_with_an_unusable_category_is_refused_whole(tmp_path, category, problem):
    categories = [{"id": 1, "name": "car"}, category]

    with pytest.raises(FileRejected) as caught:
        records_of(tmp_path, coco(categories=categories, annotations=[]))

    assert (caught.value.code, caught.value.message.split(" each")[0]) == (
        "invalid_categories",
        problem,
    )


@pytest.mark.parametrize(
    "document",
    [
        pytest.param("[1, 2]", id="an array"),
        pytest.param('{"images": [', id="cut short"),
        pytest.param('{"images": [] "annotations": []}', id="malformed"),
        pytest.param('{"categories": []}', id="no images"),
        pytest.param('{"images": {}}', id="images not an array"),
        pytest.param('{"images": [], "images": []}', id="images twice"),
        pytest.param('{"images": [{"id": NaN}]}', id="NaN"),
        pytest.param('{"images": [{"id": 1e999}]}', id="a number past a double"),
        pytest.param('{"external_id": "a"}\n{"external_id": "b"}\n', id="JSON lines"),
    ],
)
def test_coco_document_that_is_not_coco_is_rejected(tmp_path, document):
    with pytest.raises(FileRejected) as caught:
        records_of(tmp_path, document)

    assert caught.value.code == "not_coco"


def write_large_coco(path, *, images: int, annotations: int) -> None:
    """Annotations first, spread over the images, as a real export may order them; each
    carries a kilobyte of a key the importer ignores, to make the file large cheaply."""
    annotation = {"category_id": 1, "segmentation": [[0, 0, 9, 0, 9, 9]], "note": "x" * 1000}
    with path.open("w") as file:
        file.write('{"categories": [{"id": 1, "name": "car"}], "annotations": [')
        file.write(
            ",".join(json.dumps({**annotation, "image_id": i % images}) for i in range(annotations))
        )
        file.write('], "images": [')
        file.write(",".join(json.dumps({"id": i, "file_name": f"{i}.jpg"}) for i in range(images)))
        file.write("]}")


def test_coco_streams_a_large_document_in_bounded_memory(tmp_path):
    path = tmp_path / "large.json"
    write_large_coco(path, images=1000, annotations=20_000)
    tracemalloc.start()
    try:
        count = sum(1 for _ in CocoImporter(path).iter_records())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (count, path.stat().st_size > 16 * 1024 * 1024) == (1000, True)
    assert peak < 2 * 1024 * 1024


def test_json_stream_refuses_a_value_longer_than_the_limit():
    stream = io.StringIO('{"images": [{"pad": "' + "x" * 5000 + '"}]}')

    with pytest.raises(JsonStreamError, match="longer than 1000 characters"):
        list(TopLevelArrays(stream, ["images"], max_value_chars=1000))
