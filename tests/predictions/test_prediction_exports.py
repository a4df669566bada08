"""A version's predictions exported, streamed by the running server in both formats, and
imported back to the same predictions."""

from __future__ import annotations

import json

import httpx
import pytest
from django_tenants.utils import tenant_context

from apps.predictions.files import selectors
from tests.predictions.prediction_files import form, imported, stored


def exported(server, client, version_id: int, fmt: str) -> bytes:
    """The export as the running ASGI server streams it, with the client's credentials."""
    headers = {
        "Host": client.defaults["HTTP_HOST"],
        "Authorization": client.defaults["HTTP_AUTHORIZATION"],
    }
    url = f"{server.url}/api/v1/model-versions/{version_id}/predictions/export?format={fmt}"
    with httpx.stream("GET", url, headers=headers, timeout=60) as response:
        assert response.status_code == 200, response.read()
        return b"".join(response.iter_bytes())


@pytest.mark.parametrize("fmt", ["jsonl", "coco"])
def test_an_export_imports_back_to_the_same_predictions(tenant, asgi_server, editor, street, fmt):
    first = imported(editor, form(street["id"], "predictions.jsonl"))
    version = editor.get(f"/api/v1/model-versions/{first['model_version']}/").json()
    content = exported(asgi_server, editor, first["model_version"], fmt)

    name = "export.json" if fmt == "coco" else "export.jsonl"
    categories = [{"id": i, "name": n} for i, n in enumerate(version["classes"], start=1)]
    fields = {"categories": json.dumps(categories)} if fmt == "coco" else {}
    again = imported(editor, form(street["id"], name, content, model="round-trip", **fields))

    assert again["failed"] == 0
    assert stored(tenant, again["model_version"]) == stored(tenant, first["model_version"])


def test_the_export_pages_by_row_and_id_losing_and_repeating_nothing(
    tenant, editor, street, monkeypatch
):
    job = imported(editor, form(street["id"]))
    monkeypatch.setattr(selectors, "PAGE_SIZE", 1)

    with tenant_context(tenant):
        predictions = list(selectors.exported_predictions(version_id=job["model_version"]))
    assert [(p.external_id, p.class_name) for p in predictions] == [
        ("street/0001.jpg", "car"),
        ("street/0001.jpg", "person"),
        ("street/0002.jpg", "person"),
        ("street/0003.jpg", "car"),
    ]


def test_an_export_in_an_unknown_format_is_refused(editor, street):
    job = imported(editor, form(street["id"]))
    response = editor.get(
        f"/api/v1/model-versions/{job['model_version']}/predictions/export?format=csv"
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert "format" in response.json()["fields"]
