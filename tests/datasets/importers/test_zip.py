"""The ZIP importer: images extracted and measured, hostile archives refused whole."""

from __future__ import annotations

import hashlib
import io
import json
import stat
import struct
import warnings
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from apps.datasets.importers.records import FileRejected, ParsedRow, RowError
from apps.datasets.importers.zip_images import ZipImporter

MiB = 1024 * 1024


def png(width=4, height=3) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "red").save(buffer, "PNG")
    return buffer.getvalue()


def manifest(*rows) -> bytes:
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


def make_zip(tmp_path, entries: dict, name="upload.zip"):
    """A ZIP of `entries`: name -> bytes, or a ZipInfo -> bytes for odd headers."""
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry, data in entries.items():
            archive.writestr(entry, data)
    return path


def zip_of_zeros(tmp_path, size: int, *, name="bomb.png", before=None):
    """A small ZIP holding one entry of `size` zero bytes, written a chunk at a time."""
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for entry, data in (before or {}).items():
            archive.writestr(entry, data)
        with archive.open(name, "w") as target:
            for _ in range(size // MiB):
                target.write(bytes(MiB))
    return path


@pytest.fixture
def extract_dir(tmp_path):
    path = tmp_path / "extracted"
    path.mkdir()
    return path


@pytest.fixture
def read_zip(extract_dir):
    def read(path, **limits):
        limits = {"max_total_bytes": 512 * MiB, "max_ratio": 100, "max_entries": 100, **limits}
        return list(ZipImporter(path, extract_dir=extract_dir, **limits).iter_records())

    return read


@pytest.fixture
def rejection_of(read_zip):
    def rejection(path, **limits) -> FileRejected:
        with pytest.raises(FileRejected) as caught:
            read_zip(path, **limits)
        return caught.value

    return rejection


def test_zip_images_become_rows_with_their_size_and_an_extracted_file(
    tmp_path, read_zip, extract_dir
):
    path = make_zip(tmp_path, {"cats/001.png": png(4, 3), "dogs/002.jpeg": png(7, 5)})

    first, second = read_zip(path)

    assert (first.line, first.external_id, first.media_uri) == (
        "cats/001.png",
        "cats/001",
        "cats/001.png",
    )
    assert ((first.width, first.height), (second.width, second.height)) == ((4, 3), (7, 5))
    assert Path(first.media_file).read_bytes() == png(4, 3)
    assert first.media_file.startswith(str(extract_dir))


def test_zip_manifest_describes_the_images_it_names_by_media_uri(tmp_path, read_zip):
    line = {
        "external_id": "cat-1",
        "media_uri": "cats/001.png",
        "tags": ["cute"],
        "annotations": [{"class": "cat", "bbox": [0, 0, 2, 2]}],
    }
    path = make_zip(tmp_path, {"cats/001.png": png(), "manifest.jsonl": manifest(line)})

    (row,) = read_zip(path)

    assert (row.external_id, row.media_uri, row.tags) == ("cat-1", "cats/001.png", ("cute",))
    assert row.annotations[0].class_name == "cat"


def test_zip_manifest_matches_an_image_by_external_id(tmp_path, read_zip):
    line = {"external_id": "cats/001", "media_uri": "elsewhere/001.png", "tags": ["cute"]}
    path = make_zip(tmp_path, {"cats/001.png": png(), "manifest.jsonl": manifest(line)})

    (row,) = read_zip(path)

    assert (row.media_uri, row.tags) == ("cats/001.png", ("cute",))


def test_zip_manifest_line_may_leave_media_uri_out_when_its_external_id_names_the_image(
    tmp_path, read_zip
):
    line = {"external_id": "cats/001", "tags": ["cute"]}
    path = make_zip(tmp_path, {"cats/001.png": png(), "manifest.jsonl": manifest(line)})

    (row,) = read_zip(path)

    assert (row.line, row.media_uri, row.tags) == ("cats/001.png", "cats/001.png", ("cute",))


def test_zip_manifest_line_without_media_uri_naming_two_images_is_an_error(tmp_path, read_zip):
    line = {"external_id": "cats/001"}
    entries = {"cats/001.png": png(), "cats/001.jpg": png(), "manifest.jsonl": manifest(line)}

    error = read_zip(make_zip(tmp_path, entries))[0]

    assert (error.line, error.field) == ("manifest.jsonl:1", "external_id")
    assert error.message.startswith("two images are named 'cats/001' but for their extension")


def test_zip_rows_carry_the_digest_of_their_image_bytes(tmp_path, read_zip):
    blue = io.BytesIO()
    Image.new("RGB", (4, 3), "blue").save(blue, "PNG")
    path = make_zip(tmp_path, {"red.png": png(4, 3), "blue.png": blue.getvalue()})

    red_row, blue_row = read_zip(path)

    assert red_row.media_digest == hashlib.md5(png(4, 3), usedforsecurity=False).hexdigest()
    assert blue_row.media_digest != red_row.media_digest


def test_zip_images_the_manifest_leaves_out_are_imported_by_name(tmp_path, read_zip):
    line = {"external_id": "cat-1", "media_uri": "a.png"}
    path = make_zip(tmp_path, {"a.png": png(), "b.png": png(), "manifest.jsonl": manifest(line)})

    assert [row.external_id for row in read_zip(path)] == ["cat-1", "b"]


def test_zip_manifest_line_naming_no_image_is_an_error(tmp_path, read_zip):
    line = {"external_id": "ghost", "media_uri": "ghost.png"}
    path = make_zip(tmp_path, {"manifest.jsonl": manifest(line)})

    (error,) = read_zip(path)

    assert (error.line, error.field) == ("manifest.jsonl:1", "media_uri")


def test_zip_manifest_errors_name_the_manifest_line(tmp_path, read_zip):
    path = make_zip(tmp_path, {"a.png": png(), "manifest.jsonl": b'\n{"external_id": \n'})

    error, row = read_zip(path)

    assert (error.line, error.message.startswith("invalid JSON")) == ("manifest.jsonl:2", True)
    assert row.external_id == "a"


def test_zip_manifest_size_that_disagrees_with_the_image_is_an_error(tmp_path, read_zip):
    line = {"external_id": "a", "media_uri": "a.png", "width": 100}
    path = make_zip(tmp_path, {"a.png": png(4, 3), "manifest.jsonl": manifest(line)})

    error, *_ = read_zip(path)

    assert (error.line, error.field) == ("manifest.jsonl:1", "width")


def test_zip_entry_that_is_not_an_image_is_an_error(tmp_path, read_zip):
    (error,) = read_zip(make_zip(tmp_path, {"notes.txt": b"hello"}))

    assert (error.line, error.message.startswith("not an image")) == ("notes.txt", True)


def test_zip_unreadable_image_is_an_error_and_leaves_no_file(tmp_path, read_zip, extract_dir):
    (error,) = read_zip(make_zip(tmp_path, {"broken.png": png()[:40]}))

    assert (error.line, error.message.startswith("unreadable image")) == ("broken.png", True)
    assert list(extract_dir.iterdir()) == []


def test_zip_directories_and_operating_system_clutter_are_skipped(tmp_path, read_zip):
    entries = {"cats/": b"", "__MACOSX/cats/._a.png": b"x", "cats/.DS_Store": b"x", "a.png": png()}

    assert [row.line for row in read_zip(make_zip(tmp_path, entries))] == ["a.png"]


@pytest.mark.parametrize(
    "name", ["../evil.png", "a/../../evil.png", "/etc/evil.png", "C:/evil.png", "a\\..\\evil.png"]
)
def test_zip_entry_escaping_the_target_is_refused(tmp_path, rejection_of, name):
    assert rejection_of(make_zip(tmp_path, {name: png()})).code == "unsafe_path"


def test_zip_symlink_entry_is_refused(tmp_path, rejection_of):
    link = zipfile.ZipInfo("link.png")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16

    assert rejection_of(make_zip(tmp_path, {link: "/etc/passwd"})).code == "symlink"


@pytest.mark.parametrize("name", ["inner.zip", "more/data.tar", "x.tar.gz", "y.7z", "z.RAR"])
def test_zip_nested_archive_is_refused(tmp_path, rejection_of, name):
    assert rejection_of(make_zip(tmp_path, {name: b"PK"})).code == "nested_archive"


def test_zip_entry_name_used_twice_is_refused(tmp_path, rejection_of):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate as it writes it
        path = tmp_path / "twice.zip"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("a.png", png())
            archive.writestr("a.png", png())

    assert rejection_of(path).code == "duplicate_entry"


def test_zip_with_too_many_entries_is_refused(tmp_path, rejection_of):
    path = make_zip(tmp_path, {f"{i}.png": png() for i in range(11)})

    assert rejection_of(path, max_entries=10).code == "too_many_entries"


def test_zip_that_inflates_past_the_total_limit_is_refused(tmp_path, rejection_of):
    path = zip_of_zeros(tmp_path, 64 * MiB)

    assert rejection_of(path, max_total_bytes=32 * MiB, max_ratio=10**6).code == "too_large"


def test_zip_entry_compressed_past_the_ratio_limit_is_refused(tmp_path, rejection_of):
    path = zip_of_zeros(tmp_path, 256 * MiB)

    assert path.stat().st_size < MiB
    assert rejection_of(path).code == "suspicious_ratio"


def test_zip_bomb_is_refused_before_anything_is_extracted(tmp_path, extract_dir):
    path = zip_of_zeros(tmp_path, 64 * MiB, before={"a.png": png()})
    importer = ZipImporter(
        path, extract_dir=extract_dir, max_total_bytes=512 * MiB, max_ratio=100, max_entries=10
    )
    yielded = []

    with pytest.raises(FileRejected):
        yielded.extend(importer.iter_records())

    assert (yielded, list(extract_dir.iterdir())) == ([], [])


def test_zip_entry_larger_than_its_headers_declare_is_not_extracted_past_them(
    tmp_path, read_zip, extract_dir
):
    path = zip_of_zeros(tmp_path, 16 * MiB)
    data = bytearray(path.read_bytes())
    # Both headers claim 100 bytes, so the checks on declared sizes pass.
    struct.pack_into("<L", data, data.find(b"PK\x03\x04") + 22, 100)
    struct.pack_into("<L", data, data.find(b"PK\x01\x02") + 24, 100)
    path.write_bytes(bytes(data))

    (error,) = read_zip(path)

    assert (error.line, error.message.startswith("corrupt entry")) == ("bomb.png", True)
    assert list(extract_dir.iterdir()) == []


def test_file_that_is_not_a_zip_is_refused(tmp_path, rejection_of):
    path = tmp_path / "upload.zip"
    path.write_text('{"external_id": "a"}\n')

    assert rejection_of(path).code == "not_a_zip"


def test_zip_rows_are_parsed_rows_or_row_errors(tmp_path, read_zip):
    path = make_zip(tmp_path, {"a.png": png(), "b.txt": b""})

    assert [type(record) for record in read_zip(path)] == [ParsedRow, RowError]
