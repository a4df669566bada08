"""The API's JSON renderer (loupe.api.renderers) writes what DRF's own would, and sends
fragments of JSON on as they were written."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import orjson
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from loupe.api.renderers import JsonRenderer

REPRESENTATION = {
    "id": 7,
    "name": "a/ü 1 ❄",
    "created_at": datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC),
    "day": date(2026, 1, 2),
    "score": 0.25,
    "threshold": Decimal("0.5"),
    "token": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "label": gettext_lazy("car"),
    "nested": {"k": [1, 2.5, None, True], 3: "int key"},
    "separators": "line\u2028paragraph\u2029end",
}


def test_writes_the_bytes_drf_writes():
    assert JsonRenderer().render(REPRESENTATION) == JSONRenderer().render(REPRESENTATION)


def test_fragments_are_written_as_they_are():
    row = b'{"id" : 1, "metadata" : {"camera": "front"}}'
    written = JsonRenderer().render({"rows": [orjson.Fragment(row)], "total": 1})
    assert row in written
    assert json.loads(written) == {"rows": [{"id": 1, "metadata": {"camera": "front"}}], "total": 1}


def test_what_orjson_refuses_is_written_by_json_fragments_and_all():
    huge = 2**70
    data = {"metadata": {"count": huge}, "rows": [orjson.Fragment(b'{"id": 2}')]}
    assert json.loads(JsonRenderer().render(data)) == {
        "metadata": {"count": huge},
        "rows": [{"id": 2}],
    }


def test_indents_when_asked():
    written = JsonRenderer().render({"a": [1]}, "application/json; indent=4")
    assert json.loads(written) == {"a": [1]}
    assert b"\n" in written
    assert JsonRenderer().render(None) == b""
