"""Search pages render their rows in Postgres (apps.datasets.rendered_rows): each row must
come out exactly as DataRowSerializer renders it, the contract the schema states, and be
written into a response as Postgres wrote it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import orjson
import pytest
from django_tenants.utils import tenant_context

from apps.datasets.api.serializers import DataRowSerializer
from apps.datasets.models import Annotation, DataRow, Dataset
from apps.datasets.rendered_rows import rendered_rows
from apps.projects.models import Project
from loupe.api.renderers import JsonRenderer


@pytest.fixture
def rows(tenant) -> list[int]:
    """Rows of every shape: annotations of each geometry, none at all, unknown sizes, odd
    text, and a timestamp on a whole second (DRF then writes no microseconds)."""
    with tenant_context(tenant):
        dataset = Dataset.objects.create(project=Project.objects.create(name="p"), name="d")
        full = DataRow.objects.create(
            dataset=dataset,
            external_id="a/ü 1",
            media_uri="s3://b/1.jpg",
            width=640,
            height=480,
            metadata={"camera": "front", "nested": {"k": [1, 2.5, None]}, "night": False},
            tags=["train", "snow ❄"],
        )
        Annotation.objects.create(
            data_row=full,
            class_name="car",
            geometry_type="bbox",
            geometry={"x": 1, "y": 2, "w": 30.5, "h": 40},
            attributes={"occluded": True},
        )
        Annotation.objects.create(
            data_row=full,
            class_name="road",
            geometry_type="polygon",
            geometry={"points": [[0, 0], [10, 0], [10, 10]]},
            source="model",
        )
        Annotation.objects.create(data_row=full, class_name="day", geometry_type="none")
        bare = DataRow.objects.create(dataset=dataset, external_id="bare", media_uri="x")
        DataRow.objects.filter(pk=bare.pk).update(
            created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        )
        return [bare.pk, full.pk]


def _parsed(fragments) -> list[dict]:
    return [json.loads(orjson.dumps(fragment)) for fragment in fragments]


def test_rendered_rows_are_the_serializers_rows(tenant, rows):
    with tenant_context(tenant):
        fragments = rendered_rows(rows)
        by_id = DataRow.objects.prefetch_related("annotations").in_bulk(rows)
        expected = [DataRowSerializer(by_id[i]).data for i in rows]
    rendered = _parsed(fragments)
    assert [row["id"] for row in rendered] == rows  # in the order asked
    assert rendered == json.loads(json.dumps(expected))
    assert rendered[0]["created_at"] == "2026-01-02T03:04:05Z"
    assert [a["class_name"] for a in rendered[1]["annotations"]] == ["car", "road", "day"]
    assert list(rendered[1]) == list(expected[1])  # key for key, in the serializer's order
    page = json.loads(JsonRenderer().render({"rows": fragments}))
    assert page == {"rows": rendered}


def test_rows_gone_are_left_out(tenant, rows):
    with tenant_context(tenant):
        DataRow.objects.filter(pk=rows[0]).delete()
        left = rendered_rows([rows[0], rows[1], 10**9])
        assert [row["id"] for row in _parsed(left)] == [rows[1]]
        assert rendered_rows([]) == []
