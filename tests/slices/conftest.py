"""Fixtures for search and slices through the API: a dataset of known rows, imported and
indexed, and clients for each role."""

from __future__ import annotations

import pytest

from tenants.roles import Role
from tests.datasets.conftest import dataset, editor, jsonl, run_import  # noqa: F401
from tests.search.conftest import wait_until_indexed

CAMERAS = ["front", "rear", "side"]


def scene_row(i: int) -> dict:
    """Row i: camera cycles front/rear/side; even rows hold a car of area 100*(i+1); every fifth
    is tagged blurry; weather text on rows divisible by 3."""
    annotations = [{"class": "car", "bbox": [0, 0, 10, 10 * (i + 1)]}] if i % 2 == 0 else []
    annotations.append({"class": "person", "bbox": [0, 0, 5, 5]})
    return {
        "external_id": f"img-{i:03d}",
        "media_uri": f"s3://bucket/{i}.jpg",
        "width": 640 + i,
        "height": 480,
        "metadata": {
            "camera": CAMERAS[i % 3],
            "i": i,
            **({"weather": "Rainy night, wet road"} if i % 3 == 0 else {}),
        },
        "tags": ["blurry"] if i % 5 == 0 else ["sharp"],
        "annotations": annotations,
    }


SCENE_SIZE = 30


@pytest.fixture
def scene(tenant, dataset, run_import) -> dict:  # noqa: F811 (the fixtures imported above)
    job = run_import(dataset["id"], jsonl([scene_row(i) for i in range(SCENE_SIZE)]))
    assert job["created"] == SCENE_SIZE
    wait_until_indexed(tenant)
    return dataset


@pytest.fixture
def viewer(tenant, make_member, client_for):
    """A viewer reading what the editor writes."""
    return client_for(tenant, make_member(tenant, Role.VIEWER), reads_others=True)
