"""The example prediction files of docs/examples/formats/, imported through the API and the
real worker on the rows of the example COCO dataset, as docs/prediction-files.md describes
them; a version's export is byte for byte the example export of its format."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.predictions.prediction_files import (
    CATEGORIES,
    EXAMPLE,
    counters,
    imported,
    stored,
    street_dataset,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "formats"
FILES = [("predictions.jsonl", "jsonl", 3), ("results.coco.json", "coco", 4)]


@pytest.fixture
def street(editor, celery_worker) -> dict:
    """The dataset of docs/examples/formats/coco.json: images 1 to 3, street/000N.jpg."""
    return street_dataset(editor, EXAMPLES / "coco.json")


def _form(dataset_id: int, name: str, fmt: str) -> dict:
    body = {
        "file": SimpleUploadedFile(name, (EXAMPLES / name).read_bytes()),
        "format": fmt,
        "dataset": dataset_id,
        "model": "street-det",
        "task": "detection",
    }
    return body | ({"categories": json.dumps(CATEGORIES)} if fmt == "coco" else {})


def _exported(server, client, version_id: int, fmt: str) -> bytes:
    """The version's export as the running ASGI server streams it."""
    headers = {
        "Host": client.defaults["HTTP_HOST"],
        "Authorization": client.defaults["HTTP_AUTHORIZATION"],
    }
    url = f"{server.url}/api/v1/model-versions/{version_id}/predictions/export?format={fmt}"
    with httpx.stream("GET", url, headers=headers, timeout=60) as response:
        assert response.status_code == 200, response.read()
        return b"".join(response.iter_bytes())


@pytest.mark.parametrize(("name", "fmt", "records"), FILES)
def test_each_example_prediction_file_imports_its_predictions_on_the_rows_it_names(
    tenant, editor, street, name, fmt, records
):
    job = imported(editor, _form(street["id"], name, fmt))

    assert counters(job) == ("succeeded", records, 3, 4, 0)
    assert stored(tenant, job["model_version"]) == EXAMPLE
    version = editor.get(f"/api/v1/model-versions/{job['model_version']}/").json()
    assert (version["spec"], version["classes"]) == ("external", ["car", "person"])


@pytest.mark.parametrize(("name", "source_fmt"), [(name, fmt) for name, fmt, _ in FILES])
@pytest.mark.parametrize(
    ("fmt", "example"), [("jsonl", "predictions.export.jsonl"), ("coco", "results.export.json")]
)
def test_a_version_imported_from_an_example_exports_to_the_example_export_of_each_format(
    asgi_server, editor, street, name, source_fmt, fmt, example
):
    job = imported(editor, _form(street["id"], name, source_fmt))

    exported = _exported(asgi_server, editor, job["model_version"], fmt)

    assert exported == (EXAMPLES / example).read_bytes()
