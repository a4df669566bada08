"""`demo_data` builds the demo project's datasets through the platform's ZIP import."""

from __future__ import annotations

import io

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import tenant_context
from PIL import Image
from sklearn.datasets import load_digits

from apps.datasets.models import DataRow

DIGITS, SHAPES = 50, 12


def run_demo_data(tenant, *options: str) -> str:
    out = io.StringIO()
    call_command("demo_data", "--tenant", tenant.slug, *options, stdout=out)
    return out.getvalue()


def rows_of(tenant, dataset_name: str) -> list[DataRow]:
    with tenant_context(tenant):
        return list(
            DataRow.objects.using("default")
            .filter(dataset__project__name="demo", dataset__name=dataset_name)
            .prefetch_related("annotations")
            .order_by("external_id")
        )


@pytest.fixture
def demo(tenant) -> str:
    return run_demo_data(tenant, "--digits", str(DIGITS), "--shapes", str(SHAPES))


def test_digits_are_labelled_with_their_digit(tenant, demo):
    target = load_digits().target
    rows = rows_of(tenant, "digits")
    labels = {
        (row.external_id, row.metadata["index"]): [
            (a.class_name, a.geometry_type, a.geometry) for a in row.annotations.all()
        ]
        for row in rows
    }
    assert labels == {
        (f"digit-{i:04d}", i): [(str(target[i]), "none", None)] for i in range(DIGITS)
    }


def test_digit_images_are_stored_as_32x32_grayscale(tenant, demo):
    modes_and_sizes = set()
    for row in rows_of(tenant, "digits"):
        with default_storage.open(row.media_uri) as stored, Image.open(stored) as image:
            modes_and_sizes.add((image.mode, image.size, row.width, row.height))
    assert modes_and_sizes == {("L", (32, 32), 32, 32)}


def test_shapes_have_one_to_three_boxes_inside_the_image(tenant, demo):
    rows = rows_of(tenant, "shapes")
    assert [row.external_id for row in rows] == [f"shape-{i:04d}" for i in range(SHAPES)]
    for row in rows:
        annotations = list(row.annotations.all())
        assert 1 <= len(annotations) <= 3, row.external_id
        for annotation in annotations:
            box = annotation.geometry
            assert annotation.class_name in {"circle", "square", "triangle"}
            assert annotation.geometry_type == "bbox"
            assert 16 <= box["w"] <= 48 and 16 <= box["h"] <= 48, box
            assert box["x"] >= 0 and box["y"] >= 0, box
            assert box["x"] + box["w"] <= 128 and box["y"] + box["h"] <= 128, box


def test_a_second_run_leaves_every_row_unchanged(tenant, demo):
    again = run_demo_data(tenant, "--digits", str(DIGITS), "--shapes", str(SHAPES))
    assert f"created 0, updated 0, unchanged {DIGITS}, failed 0" in again
    assert f"created 0, updated 0, unchanged {SHAPES}, failed 0" in again
    assert len(rows_of(tenant, "digits")) == DIGITS


def test_it_reports_each_dataset_and_what_to_do_next(demo):
    assert f"created {DIGITS}, updated 0, unchanged 0, failed 0" in demo
    assert f"created {SHAPES}, updated 0, unchanged 0, failed 0" in demo
    assert "/api/v1/slices/" in demo and "/api/v1/training-runs/" in demo


def test_an_unknown_tenant_is_refused(live_db):
    with pytest.raises(CommandError, match="no tenant 'nowhere'"):
        call_command("demo_data", "--tenant", "nowhere", stdout=io.StringIO())
