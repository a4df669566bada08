"""The CSV importer: a header, then one row or one error per record."""

from __future__ import annotations

import pytest

from apps.datasets.importers.csv_rows import MAX_RECORD_BYTES, CsvImporter
from apps.datasets.importers.records import (
    FileRejected,
    GeometryType,
    ParsedAnnotation,
    ParsedRow,
    RowError,
)


def write_csv(tmp_path, text: str | bytes):
    path = tmp_path / "rows.csv"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def records_of(tmp_path, text):
    return list(CsvImporter(write_csv(tmp_path, text)).iter_records())


def rejection_of(tmp_path, text) -> FileRejected:
    with pytest.raises(FileRejected) as caught:
        records_of(tmp_path, text)
    return caught.value


def test_csv_row_has_its_sizes_tags_nested_metadata_and_annotations(tmp_path):
    text = (
        "external_id,media_uri,width,height,tags,metadata.camera.id,metadata.site,annotations\n"
        'img-1,s3://b/1.jpg,640,480,night| rain,7,north,"[{""class"": ""car"", '
        '""bbox"": [1, 2, 3, 4]}]"\n'
    )

    assert records_of(tmp_path, text) == [
        ParsedRow(
            line=2,
            external_id="img-1",
            media_uri="s3://b/1.jpg",
            width=640,
            height=480,
            metadata={"camera": {"id": 7}, "site": "north"},
            tags=("night", "rain"),
            annotations=(
                ParsedAnnotation("car", GeometryType.BBOX, {"x": 1, "y": 2, "w": 3, "h": 4}),
            ),
        )
    ]


def test_csv_external_id_is_kept_untrimmed_as_every_format_keeps_it(tmp_path):
    (row,) = records_of(tmp_path, "external_id,media_uri,tags\n  img-1 , s3://b/1.jpg , a \n")

    assert (row.external_id, row.media_uri, row.tags) == ("  img-1 ", "s3://b/1.jpg", ("a",))


def test_csv_rows_are_numbered_by_the_physical_line_they_start_on(tmp_path):
    text = 'external_id,media_uri,metadata.note\na,x,"two\nlines"\n\nb,y,\n'

    assert [record.line for record in records_of(tmp_path, text)] == [2, 5]


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("12", 12),
        ("-3", -3),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("true", True),
        ("FALSE", False),
        ("007", "007"),
        ("1_000", "1_000"),
        ("nan", "nan"),
        ("north", "north"),
    ],
)
def test_csv_metadata_cells_are_typed(tmp_path, cell, value):
    (row,) = records_of(tmp_path, f"external_id,media_uri,metadata.v\na,x,{cell}\n")

    assert row.metadata == {"v": value}
    assert type(row.metadata["v"]) is type(value)


def test_csv_empty_metadata_cell_leaves_the_key_out(tmp_path):
    (row,) = records_of(tmp_path, "external_id,media_uri,metadata.a,metadata.b.c\na,x,,\n")

    assert row.metadata == {}


def test_csv_empty_optional_cells_leave_their_values_unset(tmp_path):
    (row,) = records_of(tmp_path, "external_id,media_uri,width,height,tags,annotations\na,x,,,,\n")

    assert (row.width, row.height, row.tags, row.annotations) == (None, None, (), ())


def test_csv_without_a_required_column_is_rejected(tmp_path):
    rejection = rejection_of(tmp_path, "external_id,width\na,1\n")

    assert (rejection.code, "media_uri" in rejection.message) == ("missing_columns", True)


def test_csv_unknown_columns_are_rejected_naming_them(tmp_path):
    rejection = rejection_of(tmp_path, "external_id,media_uri,label,meta.x,metadata.\na,x,1,2,3\n")

    assert rejection.code == "unknown_columns"
    assert "'label', 'meta.x', 'metadata.'" in rejection.message


def test_csv_empty_file_is_rejected(tmp_path):
    assert rejection_of(tmp_path, "").code == "empty_file"


def test_csv_column_named_twice_is_rejected(tmp_path):
    assert rejection_of(tmp_path, "external_id,media_uri,width,width\n").code == (
        "duplicate_columns"
    )


def test_csv_metadata_column_that_is_also_a_parent_is_rejected(tmp_path):
    rejection = rejection_of(tmp_path, "external_id,media_uri,metadata.a,metadata.a.b\n")

    assert rejection.code == "conflicting_columns"


def test_csv_ragged_row_is_an_error_on_its_line(tmp_path):
    records = records_of(tmp_path, "external_id,media_uri\na,x,extra\nb,y\n")

    assert isinstance(records[0], RowError)
    assert (records[0].line, "has 3 cells but the header has 2" in records[0].message) == (2, True)
    assert records[1].external_id == "b"


def test_csv_width_that_is_not_a_whole_number_is_an_error(tmp_path):
    (error,) = records_of(tmp_path, "external_id,media_uri,width\na,x,12.5\n")

    assert (error.field, error.line) == ("width", 2)


def test_csv_empty_external_id_is_an_error(tmp_path):
    (error,) = records_of(tmp_path, "external_id,media_uri\n,x\n")

    assert error.field == "external_id"


def test_csv_annotations_that_are_not_json_are_an_error(tmp_path):
    (error,) = records_of(tmp_path, 'external_id,media_uri,annotations\na,x,"[{""class"": }]"\n')

    assert (error.field, "invalid JSON" in error.message) == ("annotations", True)


def test_csv_annotations_with_a_number_past_a_double_are_an_error(tmp_path):
    cell = '"[{""class"": ""car"", ""attributes"": {""score"": 1e999}}]"'

    (error,) = records_of(tmp_path, f"external_id,media_uri,annotations\na,x,{cell}\n")

    assert (error.field, "1e999 is too large" in error.message) == ("annotations", True)


def test_csv_annotations_are_checked_like_jsonl_ones(tmp_path):
    cell = '"[{""class"": ""car"", ""bbox"": [0, 0, 0, 1]}]"'
    text = f"external_id,media_uri,annotations\na,x,{cell}\n"

    (error,) = records_of(tmp_path, text)

    assert error.field == "annotations[0].bbox"


def test_csv_record_longer_than_the_limit_is_an_error_and_the_next_row_still_parses(tmp_path):
    text = f"external_id,media_uri\na,{'x' * MAX_RECORD_BYTES}\nb,y\n"

    error, row = records_of(tmp_path, text)

    assert (error.line, "longer than" in error.message) == (2, True)
    assert (row.line, row.external_id) == (3, "b")


def test_csv_non_utf8_line_is_an_error_and_the_next_row_still_parses(tmp_path):
    error, row = records_of(tmp_path, b"external_id,media_uri\ncaf\xe9,x\nb,y\n")

    assert (error.line, "not valid UTF-8" in error.message) == (2, True)
    assert row.line == 3
