"""The example files of docs/examples/formats/, imported through the API and the real worker:
each gives the rows docs/formats.md says it gives, and each dataset exports to its example
export (docs/exports.md), which imports back unchanged."""

from __future__ import annotations

import io
import json
import runpy
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from tests.datasets.conftest import all_rows, export_through_server

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "formats"

FRAMES_FROM_JSONL = [
    (
        "frame-0001",
        "s3://acme-data/frames/0001.jpg",
        1280,
        720,
        {"camera": "front", "weather": {"rain": False}},
        ["day", "highway"],
        [
            ("car", "bbox", {"x": 412, "y": 300, "w": 220, "h": 140}, {}, "human", 30800.0),
            (
                "person",
                "polygon",
                {"points": [[100, 380], [130, 380], [128, 470], [102, 470]]},
                {"occluded": True},
                "human",
                2520.0,
            ),
        ],
    ),
    (
        "frame-0002",
        "s3://acme-data/frames/0002.jpg",
        None,
        None,
        {},
        ["night"],
        [("night", "none", None, {}, "human", None)],
    ),
    (
        "frame-0003",
        "https://cdn.example.com/frames/0003.jpg",
        1280,
        720,
        {},
        [],
        [
            (
                "car",
                "bbox",
                {"x": 10.5, "y": 20, "w": 64, "h": 48.25},
                {"score": 0.91},
                "model",
                3088.0,
            )
        ],
    ),
]
FRAMES_FROM_CSV = [
    (
        "frame-0001",
        "s3://acme-data/frames/0001.jpg",
        1280,
        720,
        {"camera": "front", "gps": {"lat": 48.85}},
        ["day", "highway"],
        [("car", "bbox", {"x": 412, "y": 300, "w": 220, "h": 140}, {}, "human", 30800.0)],
    ),
    (
        "frame-0002",
        "s3://acme-data/frames/0002.jpg",
        None,
        None,
        {"camera": "rear"},
        ["night"],
        [("night", "none", None, {}, "human", None)],
    ),
    (
        "frame-0003",
        "s3://acme-data/frames/0003.jpg",
        1280,
        720,
        {"camera": "front", "gps": {"lat": 48.86}},
        [],
        [
            (
                "person",
                "polygon",
                {"points": [[100, 380], [130, 380], [128, 470]]},
                {},
                "human",
                1350.0,
            )
        ],
    ),
]
STREET_FROM_COCO = [
    (
        "street/0001.jpg",
        "street/0001.jpg",
        640,
        480,
        {"coco_id": 1, "city": "Lyon"},
        [],
        [
            (
                "car",
                "bbox",
                {"x": 100, "y": 120, "w": 80, "h": 60},
                {"iscrowd": 0, "area": 4800},
                "human",
                4800.0,
            ),
            (
                "person",
                "polygon",
                {"points": [[300, 200], [340, 200], [340, 300], [300, 300]]},
                {"iscrowd": 0},
                "human",
                4000.0,
            ),
        ],
    ),
    (
        "street/0002.jpg",
        "street/0002.jpg",
        640,
        480,
        {"coco_id": 2},
        [],
        [("car", "bbox", {"x": 10, "y": 10, "w": 50, "h": 40}, {"score": 0.87}, "model", 2000.0)],
    ),
    ("street/0003.jpg", "street/0003.jpg", None, None, {"coco_id": 3}, [], []),
]
# The ZIP's rows; each media_uri is where its image is stored, after the dataset's prefix.
IMAGES_FROM_ZIP = [
    (
        "car-1",
        "cars/0001.png",
        32,
        24,
        {},
        ["parked"],
        [("car", "bbox", {"x": 4, "y": 8, "w": 20, "h": 12}, {}, "human", 240.0)],
    ),
    ("cars/0002", "cars/0002.png", 32, 24, {"phone": "pixel"}, [], []),
    ("misc/0003", "misc/0003.png", 16, 16, {}, [], []),
]


def _shape(row: dict, media_prefix: str = "") -> tuple:
    """A row as the tests above write it: its fields, then each annotation's."""
    keys = ("class_name", "geometry_type", "geometry", "attributes", "source", "area")
    annotations = [tuple(a[key] for key in keys) for a in row["annotations"]]
    return (
        row["external_id"],
        row["media_uri"].removeprefix(media_prefix),
        row["width"],
        row["height"],
        row["metadata"],
        row["tags"],
        annotations,
    )


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        ("rows.jsonl", "jsonl", FRAMES_FROM_JSONL),
        ("rows.csv", "csv", FRAMES_FROM_CSV),
        ("coco.json", "coco", STREET_FROM_COCO),
        ("images.zip", "zip", IMAGES_FROM_ZIP),
    ],
)
def test_each_example_import_gives_the_rows_the_docs_describe(
    tenant, editor, dataset, run_import, name, fmt, expected
):
    job = run_import(dataset["id"], (EXAMPLES / name).read_bytes(), name, fmt)

    assert (job["status"], job["total"], job["created"], job["failed"]) == ("succeeded", 3, 3, 0)
    media_prefix = f"{tenant.schema_name}/datasets/{dataset['id']}/media/" if fmt == "zip" else ""
    assert [_shape(row, media_prefix) for row in all_rows(editor, dataset["id"])] == expected


def test_the_example_jsonl_exports_to_its_example_export_byte_for_byte(
    asgi_server, editor, dataset, run_import
):
    run_import(dataset["id"], (EXAMPLES / "rows.jsonl").read_bytes())

    exported = export_through_server(asgi_server, editor, dataset["id"], "jsonl")

    assert exported == (EXAMPLES / "rows.export.jsonl").read_bytes()
    again = run_import(dataset["id"], exported, "export.jsonl", "jsonl")
    assert (again["unchanged"], again["updated"], again["failed"]) == (3, 0, 0)


def _numbered_from_one(document: dict) -> dict:
    """The COCO export with its image and annotation ids (the database's) renumbered from 1
    in the order they come, and image_id following its image."""
    images = {image["id"]: n for n, image in enumerate(document["images"], start=1)}
    return {
        "images": [{**image, "id": images[image["id"]]} for image in document["images"]],
        "annotations": [
            {**annotation, "id": n, "image_id": images[annotation["image_id"]]}
            for n, annotation in enumerate(document["annotations"], start=1)
        ],
        "categories": document["categories"],
    }


def test_the_example_coco_exports_to_its_example_export_but_for_ids(
    asgi_server, editor, dataset, run_import
):
    run_import(dataset["id"], (EXAMPLES / "coco.json").read_bytes(), "coco.json", "coco")

    exported = export_through_server(asgi_server, editor, dataset["id"], "coco")

    example = json.loads((EXAMPLES / "coco.export.json").read_bytes())
    assert _numbered_from_one(json.loads(exported)) == example
    again = run_import(dataset["id"], exported, "export.json", "coco")
    assert (again["unchanged"], again["updated"], again["failed"]) == (3, 0, 0)


def _pixels(content: bytes) -> tuple:
    with Image.open(io.BytesIO(content)) as image:
        return image.size, image.convert("RGB").tobytes()


def test_the_example_zip_holds_what_its_script_builds():
    built = runpy.run_path(str(EXAMPLES / "make_images_zip.py"))["entries"]()

    with zipfile.ZipFile(EXAMPLES / "images.zip") as archive:
        kept = {name: archive.read(name) for name in archive.namelist()}
    assert list(kept) == list(built)
    assert kept.pop("manifest.jsonl") == built.pop("manifest.jsonl")
    assert {name: _pixels(content) for name, content in kept.items()} == {
        name: _pixels(content) for name, content in built.items()
    }
