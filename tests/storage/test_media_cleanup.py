"""Media leave storage with their rows and datasets, and an import that fails leaves none
behind: on local files and in the S3 bucket alike (the imports run in this process, as
`manage.py import_dataset` runs them; the deletions go through the API)."""

from __future__ import annotations

import json

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from tests.datasets.conftest import all_rows, jsonl
from tests.storage.conftest import import_here, png, zip_of

HUGE = 2**70  # a metadata value Postgres cannot store: the row is refused after staging


def _media(tenant, dataset: dict) -> str:
    return f"{tenant.schema_name}/datasets/{dataset['id']}/media/"


def _imported_zip(tenant, dataset: dict, tmp_path, entries: dict[str, bytes]) -> None:
    path = tmp_path / "images.zip"
    path.write_bytes(zip_of(entries))
    import_here(tenant, dataset["id"], path)


def test_deleting_a_dataset_deletes_its_media(store, tenant, editor, dataset, tmp_path):
    _imported_zip(tenant, dataset, tmp_path, {"a.png": png(), "b.png": png()})
    assert len(store.keys(_media(tenant, dataset))) == 2

    assert editor.delete(f"/api/v1/datasets/{dataset['id']}/").status_code == 204
    assert store.keys(_media(tenant, dataset)) == []


def test_deleting_a_row_deletes_the_media_it_alone_named(store, tenant, editor, dataset, tmp_path):
    _imported_zip(tenant, dataset, tmp_path, {"a.png": png(), "b.png": png()})
    media = _media(tenant, dataset)
    # A second row naming a's image keeps it; a file outside the dataset's media stays.
    model = default_storage.save(f"{tenant.schema_name}/models/m.pt", ContentFile(b"weights"))
    lines = tmp_path / "more.jsonl"
    lines.write_bytes(
        jsonl(
            [
                {"external_id": "a-again", "media_uri": f"{media}a.png"},
                {"external_id": "model", "media_uri": model},
            ]
        )
    )
    import_here(tenant, dataset["id"], lines)
    rows = {r["external_id"]: r for r in all_rows(editor, dataset["id"])}

    for name in ("a", "b", "model"):
        assert editor.delete(f"/api/v1/rows/{rows[name]['id']}/").status_code == 204
    assert store.keys(media) == [f"{media}a.png"]
    assert store.keys(f"{tenant.schema_name}/models/") == [model]

    assert editor.delete(f"/api/v1/rows/{rows['a-again']['id']}/").status_code == 204
    assert store.keys(media) == []


def test_a_failed_zip_import_leaves_no_media_behind(store, tenant, editor, dataset, tmp_path):
    manifest = "\n".join(
        json.dumps({"external_id": name, "media_uri": f"{name}.png", "metadata": {"n": HUGE}})
        for name in ("a", "b", "c")
    )
    entries = {"a.png": png(), "b.png": png(), "c.png": png(), "manifest.jsonl": manifest.encode()}
    _imported_zip(tenant, dataset, tmp_path, entries)

    (job,) = editor.get(f"/api/v1/datasets/{dataset['id']}/imports/").json()["results"]
    assert (job["status"], job["failed"]) == ("failed", 3)
    assert store.keys(_media(tenant, dataset)) == []


def test_a_refused_row_of_a_zip_import_leaves_no_media_the_others_keep_theirs(
    store, tenant, editor, dataset, tmp_path
):
    manifest = json.dumps({"external_id": "b", "media_uri": "b.png", "metadata": {"n": HUGE}})
    entries = {"a.png": png(), "b.png": png(), "manifest.jsonl": manifest.encode()}
    _imported_zip(tenant, dataset, tmp_path, entries)

    (job,) = editor.get(f"/api/v1/datasets/{dataset['id']}/imports/").json()["results"]
    assert (job["status"], job["created"], job["failed"]) == ("partially_failed", 1, 1)
    assert store.keys(_media(tenant, dataset)) == [f"{_media(tenant, dataset)}a.png"]
