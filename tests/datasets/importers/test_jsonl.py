"""The JSON Lines importer: one row or one error per line, in bounded memory."""

from __future__ import annotations

import builtins
import inspect
import json
import tracemalloc

import pytest

from apps.datasets.importers import jsonl
from apps.datasets.importers.jsonl import MAX_LINE_BYTES, JsonlImporter
from apps.datasets.importers.records import (
    AnnotationSource,
    GeometryType,
    ParsedAnnotation,
    ParsedRow,
    RowError,
)

VALID = {"external_id": "img-1", "media_uri": "s3://bucket/img-1.jpg"}


def write_lines(tmp_path, *lines):
    path = tmp_path / "rows.jsonl"
    with path.open("wb") as file:
        for line in lines:
            if isinstance(line, dict):
                line = json.dumps(line)
            file.write((line.encode() if isinstance(line, str) else line) + b"\n")
    return path


def records_of(path):
    return list(JsonlImporter(path).iter_records())


def only_error(tmp_path, line):
    (record,) = records_of(write_lines(tmp_path, line))
    assert isinstance(record, RowError), record
    return record


def test_jsonl_line_becomes_a_row_with_its_annotations(tmp_path):
    line = {
        **VALID,
        "width": 640,
        "height": 480,
        "metadata": {"camera": {"id": 7}},
        "tags": ["night", "rain", "night"],
        "annotations": [
            {"class": "car", "bbox": [1, 2, 30, 40], "attributes": {"occluded": True}},
            {"class": "road", "polygon": [[0, 0], [10, 0], [10, 10]], "source": "model"},
            {"class": "urban"},
        ],
    }

    assert records_of(write_lines(tmp_path, line)) == [
        ParsedRow(
            line=1,
            external_id="img-1",
            media_uri="s3://bucket/img-1.jpg",
            width=640,
            height=480,
            metadata={"camera": {"id": 7}},
            tags=("night", "rain"),
            annotations=(
                ParsedAnnotation(
                    "car",
                    GeometryType.BBOX,
                    {"x": 1, "y": 2, "w": 30, "h": 40},
                    {"occluded": True},
                ),
                ParsedAnnotation(
                    "road",
                    GeometryType.POLYGON,
                    {"points": [[0, 0], [10, 0], [10, 10]]},
                    source=AnnotationSource.MODEL,
                ),
                ParsedAnnotation("urban", GeometryType.NONE, None),
            ),
        )
    ]


def test_jsonl_blank_lines_are_skipped_and_lines_keep_their_numbers(tmp_path):
    path = write_lines(tmp_path, VALID, "", "   ", {**VALID, "external_id": "img-2"})

    assert [record.line for record in records_of(path)] == [1, 4]


def test_jsonl_lines_of_unicode_whitespace_are_skipped_like_blank_ones(tmp_path):
    (row,) = records_of(write_lines(tmp_path, "\u00a0\u2003", " \t", VALID))

    assert row.line == 3


def test_jsonl_byte_order_mark_is_ignored(tmp_path):
    path = write_lines(tmp_path, b"\xef\xbb\xbf" + json.dumps(VALID).encode())

    assert isinstance(records_of(path)[0], ParsedRow)


def test_jsonl_invalid_json_is_an_error_on_its_line(tmp_path):
    path = write_lines(tmp_path, VALID, '{"external_id": "img-2",')

    error = records_of(path)[1]

    assert (error.line, error.field) == (2, None)
    assert error.message.startswith("invalid JSON")


def test_jsonl_line_that_is_not_an_object_is_an_error(tmp_path):
    assert "must be a JSON object" in only_error(tmp_path, "[1, 2]").message


@pytest.mark.parametrize("field", ["external_id", "media_uri"])
def test_jsonl_missing_required_field_is_an_error_naming_it(tmp_path, field):
    line = {key: value for key, value in VALID.items() if key != field}

    error = only_error(tmp_path, line)

    assert (error.field, error.message.startswith(f"{field} is required")) == (field, True)


def test_jsonl_external_id_longer_than_255_characters_is_an_error(tmp_path):
    error = only_error(tmp_path, {**VALID, "external_id": "x" * 256})

    assert error.field == "external_id"
    assert "255 characters or fewer" in error.message


def test_jsonl_empty_external_id_is_an_error(tmp_path):
    assert only_error(tmp_path, {**VALID, "external_id": " "}).field == "external_id"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("external_id", 5),
        ("media_uri", ["a"]),
        ("width", "640"),
        ("metadata", ["a"]),
        ("tags", "night"),
        ("annotations", {"class": "car"}),
    ],
)
def test_jsonl_value_of_the_wrong_type_is_an_error_naming_the_field(tmp_path, field, value):
    assert only_error(tmp_path, {**VALID, field: value}).field == field


@pytest.mark.parametrize(("field", "value"), [("width", 0), ("width", -3), ("height", 2.5)])
def test_jsonl_size_that_is_not_a_positive_whole_number_is_an_error(tmp_path, field, value):
    error = only_error(tmp_path, {**VALID, field: value})

    assert error.field == field
    assert "whole number of pixels above 0" in error.message


@pytest.mark.parametrize("bbox", [[1, 2, 0, 5], [1, 2, 5, -1]])
def test_jsonl_bbox_without_positive_width_and_height_is_an_error(tmp_path, bbox):
    error = only_error(tmp_path, {**VALID, "annotations": [{"class": "car", "bbox": bbox}]})

    assert error.field == "annotations[0].bbox"
    assert "width and height must be above 0" in error.message


@pytest.mark.parametrize("bbox", [[1, 2, 3], [1, 2, 3, 4, 5], [1, "2", 3, 4], {"x": 1}])
def test_jsonl_bbox_that_is_not_four_numbers_is_an_error(tmp_path, bbox):
    error = only_error(tmp_path, {**VALID, "annotations": [{"class": "car", "bbox": bbox}]})

    assert error.field == "annotations[0].bbox"
    assert "[x, y, w, h]" in error.message


def test_jsonl_polygon_with_fewer_than_three_points_is_an_error(tmp_path):
    annotation = {"class": "road", "polygon": [[0, 0], [1, 1]]}

    error = only_error(tmp_path, {**VALID, "annotations": [annotation]})

    assert (error.field, error.message) == (
        "annotations[0].polygon",
        "polygon needs at least 3 points [x, y]; got 2",
    )


def test_jsonl_annotation_with_both_bbox_and_polygon_is_an_error(tmp_path):
    annotation = {"class": "car", "bbox": [0, 0, 1, 1], "polygon": [[0, 0], [1, 0], [1, 1]]}

    assert "not both" in only_error(tmp_path, {**VALID, "annotations": [annotation]}).message


def test_jsonl_annotation_without_class_is_an_error(tmp_path):
    error = only_error(tmp_path, {**VALID, "annotations": [{"bbox": [0, 0, 1, 1]}]})

    assert error.field == "annotations[0].class"


def test_jsonl_annotation_with_an_unknown_source_is_an_error(tmp_path):
    error = only_error(tmp_path, {**VALID, "annotations": [{"class": "car", "source": "robot"}]})

    assert error.field == "annotations[0].source"


def test_jsonl_unknown_keys_are_an_error_naming_them(tmp_path):
    error = only_error(tmp_path, {**VALID, "lables": [], "url": "x"})

    assert "unknown keys 'lables', 'url'" in error.message


def test_jsonl_unknown_annotation_keys_are_an_error_naming_them(tmp_path):
    error = only_error(tmp_path, {**VALID, "annotations": [{"class": "car", "box": [0, 0, 1, 1]}]})

    assert (error.field, "'box'" in error.message) == ("annotations[0]", True)


def test_jsonl_nan_is_an_error(tmp_path):
    error = only_error(tmp_path, '{"external_id": "a", "media_uri": "b", "metadata": {"x": NaN}}')

    assert "NaN" in error.message


def test_jsonl_number_too_large_for_a_float_is_an_error_not_infinity(tmp_path):
    error = only_error(tmp_path, '{"external_id": "a", "media_uri": "b", "metadata": {"x": 1e400}}')

    assert "1e400 is too large" in error.message


@pytest.mark.parametrize("value", [2**70, -(2**63) - 1, 2**64 - 1, -(2**63)])
def test_jsonl_integers_keep_every_digit(tmp_path, value):
    (row,) = records_of(write_lines(tmp_path, {**VALID, "metadata": {"n": value, "m": [value]}}))

    assert row.metadata == {"n": value, "m": [value]}
    assert type(row.metadata["n"]) is int


def test_jsonl_line_longer_than_the_limit_is_an_error_and_the_next_line_still_parses(tmp_path):
    long_line = json.dumps({**VALID, "metadata": {"pad": "x" * MAX_LINE_BYTES}})

    error, row = records_of(write_lines(tmp_path, long_line, VALID))

    assert (error.line, "longer than" in error.message) == (1, True)
    assert (row.line, row.external_id) == (2, "img-1")


def test_jsonl_non_utf8_line_is_an_error_and_the_next_line_still_parses(tmp_path):
    bad = b'{"external_id": "caf\xe9", "media_uri": "x"}'

    error, row = records_of(write_lines(tmp_path, bad, VALID))

    assert (error.line, "not valid UTF-8" in error.message) == (1, True)
    assert row.line == 2


@pytest.fixture
def large_file(tmp_path):
    """About 24 MB of valid lines."""
    path = tmp_path / "large.jsonl"
    with path.open("w") as file:
        for i in range(50_000):
            line = {"external_id": f"img-{i}", "media_uri": f"s3://b/{i}.jpg"}
            file.write(json.dumps({**line, "metadata": {"pad": "x" * 400}}) + "\n")
    return path


def test_jsonl_records_are_produced_lazily_by_a_generator(large_file):
    assert inspect.isgenerator(JsonlImporter(large_file).iter_records())


def test_jsonl_first_row_is_read_without_reading_the_whole_file(large_file, monkeypatch):
    opened = []

    def spy_open(*args, **kwargs):
        opened.append(builtins.open(*args, **kwargs))  # noqa: SIM115 (the importer closes it)
        return opened[-1]

    monkeypatch.setattr(jsonl, "open", spy_open, raising=False)
    records = JsonlImporter(large_file).iter_records()

    first = next(records)

    assert first.external_id == "img-0"
    assert opened[0].raw.tell() < large_file.stat().st_size // 100


def test_jsonl_memory_stays_bounded_over_a_large_file(large_file):
    tracemalloc.start()
    try:
        count = sum(1 for _ in JsonlImporter(large_file).iter_records())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert count == 50_000
    assert peak < 2 * 1024 * 1024


def test_jsonl_overlong_line_is_skipped_without_being_held_in_memory(tmp_path):
    path = tmp_path / "long.jsonl"
    with path.open("wb") as file:
        file.write(b'{"pad": "' + b"x" * (32 * 1024 * 1024) + b'"}\n')
    tracemalloc.start()
    try:
        (error,) = JsonlImporter(path).iter_records()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert isinstance(error, RowError)
    assert peak < 4 * MAX_LINE_BYTES
