"""CSV, COCO and ZIP imports through the API and the real worker; hostile files change
nothing."""

import io
import json
import zipfile

from PIL import Image

from tests.datasets.conftest import all_rows, export_through_server, jsonl


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


COCO = {
    "images": [
        {"id": 1, "file_name": "a.jpg", "width": 100, "height": 80, "camera": "front"},
        {"id": 2, "file_name": "b.jpg", "width": 100, "height": 80},
    ],
    "categories": [{"id": 7, "name": "car"}, {"id": 8, "name": "person"}],
    "annotations": [
        {"id": 1, "image_id": 1, "category_id": 7, "bbox": [1, 2, 10, 20], "iscrowd": 0},
        {
            "id": 2,
            "image_id": 1,
            "category_id": 8,
            "bbox": [0, 0, 4, 4],
            "segmentation": [[0, 0, 4, 0, 4, 4]],
            "score": 0.9,
        },
    ],
}


def test_csv_import_types_metadata_columns(editor, dataset, run_import):
    content = (
        b"external_id,media_uri,width,height,tags,metadata.camera,metadata.speed\n"
        b"a,s3://b/a.jpg,640,480,train|night,front,12.5\n"
        b"b,s3://b/b.jpg,640,480,,rear,3\n"
    )
    job = run_import(dataset["id"], content, "rows.csv", "csv")
    assert (job["status"], job["created"]) == ("succeeded", 2)
    first = next(r for r in all_rows(editor, dataset["id"]) if r["external_id"] == "a")
    assert (first["metadata"], first["tags"]) == (
        {"camera": "front", "speed": 12.5},
        ["train", "night"],
    )


def test_csv_with_unknown_columns_fails_with_a_clear_detail(editor, dataset, run_import):
    job = run_import(dataset["id"], b"external_id,media_uri,colour\na,b,red\n", "rows.csv", "csv")
    assert job["status"] == "failed"
    assert job["detail"].startswith("unknown_columns")
    assert all_rows(editor, dataset["id"]) == []


def test_coco_import_and_export_round_trip(asgi_server, editor, dataset, run_import):
    job = run_import(dataset["id"], json.dumps(COCO).encode(), "coco.json", "coco")
    assert (job["status"], job["created"]) == ("succeeded", 2)
    a = next(r for r in all_rows(editor, dataset["id"]) if r["external_id"] == "a.jpg")
    assert a["metadata"] == {"coco_id": 1, "camera": "front"}
    assert sorted(x["class_name"] for x in a["annotations"]) == ["car", "person"]
    exported = export_through_server(asgi_server, editor, dataset["id"], "coco")
    again = run_import(dataset["id"], exported, "export.json", "coco")
    assert (again["unchanged"], again["failed"]) == (2, 0)


def test_coco_export_of_rows_from_other_formats_imports_back_keeping_their_media_uri(
    asgi_server, editor, dataset, run_import
):
    rows = [
        {"external_id": "frame-1", "media_uri": "s3://acme/1.jpg", "width": 64, "height": 48},
        {"external_id": "frame-2.jpg", "media_uri": "frame-2.jpg", "width": 64, "height": 48},
    ]
    run_import(dataset["id"], jsonl(rows))
    exported = export_through_server(asgi_server, editor, dataset["id"], "coco")

    again = run_import(dataset["id"], exported, "export.json", "coco")

    assert (again["updated"], again["failed"]) == (2, 0)  # each gains its coco_id, once
    stored = {r["external_id"]: r for r in all_rows(editor, dataset["id"])}
    assert [(r["media_uri"], r["metadata"]) for r in stored.values()] == [
        ("s3://acme/1.jpg", {"coco_id": stored["frame-1"]["id"]}),
        ("frame-2.jpg", {"coco_id": stored["frame-2.jpg"]["id"]}),
    ]
    exported_again = export_through_server(asgi_server, editor, dataset["id"], "coco")
    last = run_import(dataset["id"], exported_again, "export.json", "coco")
    assert (last["unchanged"], last["updated"]) == (2, 0)


def test_coco_image_coco_url_is_its_rows_media_uri(editor, dataset, run_import):
    images = [
        {"id": 1, "file_name": "a.jpg", "coco_url": "http://images.example.com/a.jpg"},
        {"id": 2, "file_name": "b.jpg", "coco_url": ""},
    ]
    run_import(dataset["id"], json.dumps({"images": images}).encode(), "coco.json", "coco")

    stored = sorted(
        (r["external_id"], r["media_uri"], r["metadata"]) for r in all_rows(editor, dataset["id"])
    )
    assert stored == [
        ("a.jpg", "http://images.example.com/a.jpg", {"coco_id": 1}),
        ("b.jpg", "b.jpg", {"coco_id": 2, "coco_url": ""}),
    ]


def test_coco_file_with_an_unusable_category_is_refused_whole(editor, dataset, run_import):
    document = {**COCO, "categories": [{"id": 7, "name": "car"}, {"id": 8}]}

    job = run_import(dataset["id"], json.dumps(document).encode(), "coco.json", "coco")

    assert (job["status"], job["total"], job["failed"]) == ("failed", 0, 0)
    assert job["detail"].startswith("invalid_categories: categories[1] has no name;")
    assert all_rows(editor, dataset["id"]) == []


def test_csv_and_jsonl_keep_an_external_id_exactly_so_they_name_the_same_row(
    editor, dataset, run_import
):
    run_import(dataset["id"], b"external_id,media_uri\n  frame-1 ,s3://b/1.jpg\n", "r.csv", "csv")
    line = {"external_id": "  frame-1 ", "media_uri": "s3://b/1.jpg"}

    job = run_import(dataset["id"], jsonl([line]))

    assert (job["created"], job["unchanged"]) == (0, 1)
    assert [r["external_id"] for r in all_rows(editor, dataset["id"])] == ["  frame-1 "]


def test_zip_of_images_records_sizes_and_reports_unreadable_images(
    tenant, editor, dataset, run_import
):
    archive = _zip(
        {"cars/one.png": _png(32, 16), "two.png": _png(8, 8), "broken.png": b"not a png"}
    )
    job = run_import(dataset["id"], archive, "images.zip", "zip")
    assert (job["status"], job["created"], job["failed"]) == ("partially_failed", 2, 1)
    assert job["errors"][0]["line"] == "broken.png"
    rows = {r["external_id"]: r for r in all_rows(editor, dataset["id"])}
    assert (rows["cars/one"]["width"], rows["cars/one"]["height"]) == (32, 16)
    # Media are stored under the tenant's own prefix.
    assert rows["two"]["media_uri"].startswith(f"{tenant.schema_name}/datasets/")


def test_zip_escaping_its_target_is_refused_and_stores_nothing(editor, dataset, run_import):
    job = run_import(
        dataset["id"], _zip({"ok.png": _png(4, 4), "../../evil.png": _png(4, 4)}), "x.zip", "zip"
    )
    assert job["status"] == "failed"
    assert job["detail"].startswith("unsafe_path")
    assert all_rows(editor, dataset["id"]) == []


def test_zip_bomb_is_refused_and_stores_nothing(editor, dataset, run_import):
    job = run_import(
        dataset["id"], _zip({"huge.png": b"\0" * (64 * 1024 * 1024)}), "bomb.zip", "zip"
    )
    assert job["status"] == "failed"
    assert job["detail"].startswith(("suspicious_ratio", "too_large"))
    assert all_rows(editor, dataset["id"]) == []


def test_a_zip_nested_in_a_zip_is_refused(editor, dataset, run_import):
    job = run_import(
        dataset["id"], _zip({"inner.zip": _zip({"a.png": _png(2, 2)})}), "x.zip", "zip"
    )
    assert job["detail"].startswith("nested_archive")
