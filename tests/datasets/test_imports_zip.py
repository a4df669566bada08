"""ZIP imports through the API and the real worker: what a row's content is made of, and how
a manifest line finds its image."""

import io
import json
import zipfile

from PIL import Image

from tests.datasets.conftest import all_rows


def _png(colour: str, size: tuple[int, int] = (8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_a_zip_imported_again_with_an_image_changed_but_not_its_size_updates_that_row(
    editor, dataset, run_import
):
    first = {"cars/a.png": _png("red"), "cars/b.png": _png("green")}
    run_import(dataset["id"], _zip(first), "images.zip", "zip")

    changed = {**first, "cars/b.png": _png("blue")}
    job = run_import(dataset["id"], _zip(changed), "images.zip", "zip")

    assert (job["created"], job["updated"], job["unchanged"], job["failed"]) == (0, 1, 1, 0)


def test_a_zip_imported_again_unchanged_changes_nothing(editor, dataset, run_import):
    archive = _zip({"cars/a.png": _png("red"), "cars/b.png": _png("green")})
    run_import(dataset["id"], archive, "images.zip", "zip")

    job = run_import(dataset["id"], archive, "images.zip", "zip")

    assert (job["created"], job["updated"], job["unchanged"]) == (0, 0, 2)


def test_a_manifest_line_may_name_its_image_by_external_id_alone(editor, dataset, run_import):
    manifest = json.dumps({"external_id": "cars/a", "tags": ["parked"]}).encode()
    archive = _zip({"manifest.jsonl": manifest, "cars/a.png": _png("red", (6, 4))})

    job = run_import(dataset["id"], archive, "images.zip", "zip")

    assert (job["status"], job["created"]) == ("succeeded", 1)
    (row,) = all_rows(editor, dataset["id"])
    assert (row["external_id"], row["tags"], row["width"], row["height"]) == (
        "cars/a",
        ["parked"],
        6,
        4,
    )
    assert row["media_uri"].endswith("/media/cars/a.png")


def test_a_manifest_line_without_media_uri_naming_no_image_is_an_error_on_it(
    editor, dataset, run_import
):
    manifest = json.dumps({"external_id": "cars/ghost"}).encode()
    archive = _zip({"manifest.jsonl": manifest, "cars/a.png": _png("red")})

    job = run_import(dataset["id"], archive, "images.zip", "zip")

    assert (job["status"], job["created"], job["failed"]) == ("partially_failed", 1, 1)
    (error,) = job["errors"]
    assert (error["line"], error["field"]) == ("manifest.jsonl:1", "external_id")
    assert error["message"].startswith("no image is named 'cars/ghost'")
