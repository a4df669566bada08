"""Datasets, rows and annotations through the API."""

import pytest
from django_tenants.utils import tenant_context

from apps.datasets.models import Annotation, DataRow, Dataset, ImportJob
from apps.projects.models import Project
from tenants.roles import Role
from tests.support.stored import shown

DATASETS, PROJECTS = "/api/v1/datasets/", "/api/v1/projects/"


@pytest.fixture
def stored_row(tenant, dataset):
    with tenant_context(tenant):
        return DataRow.objects.create(
            dataset_id=dataset["id"], external_id="a", media_uri="m", metadata={"k": 1}, tags=["x"]
        )


def row_as_shown(editor, row: DataRow) -> dict:
    """The row and its annotations, as the API shows them."""
    return shown(editor, f"/api/v1/rows/{row.pk}/", f"/api/v1/rows/{row.pk}/annotations/")


def test_dataset_name_is_unique_within_a_project(editor, dataset):
    before = shown(editor, DATASETS)
    response = editor.post(
        "/api/v1/datasets/",
        {"project": dataset["project"], "name": "frames"},
        content_type="application/json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "dataset_name_taken"
    assert shown(editor, DATASETS) == before


def test_dataset_in_an_unknown_project_is_refused(editor, dataset):
    before = shown(editor, DATASETS, PROJECTS)
    response = editor.post(
        "/api/v1/datasets/", {"project": 999999, "name": "x"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_project"
    assert shown(editor, DATASETS, PROJECTS) == before


def test_viewer_cannot_create_a_dataset(tenant, make_member, client_for, dataset):
    viewer = client_for(tenant, make_member(tenant, Role.VIEWER))
    before = shown(viewer, DATASETS)
    response = viewer.post(
        "/api/v1/datasets/",
        {"project": dataset["project"], "name": "v"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert shown(viewer, DATASETS) == before


def test_patch_replaces_metadata_and_tags(editor, stored_row):
    response = editor.patch(
        f"/api/v1/rows/{stored_row.pk}/",
        {"metadata": {"k": 2}, "tags": ["y"]},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert (response.json()["metadata"], response.json()["tags"]) == ({"k": 2}, ["y"])


def test_bad_patch_leaves_the_row_unchanged(editor, stored_row):
    before = row_as_shown(editor, stored_row)
    response = editor.patch(
        f"/api/v1/rows/{stored_row.pk}/", {"metadata": [1]}, content_type="application/json"
    )
    assert response.status_code == 400
    assert row_as_shown(editor, stored_row) == before


def test_annotations_are_added_changed_and_removed(tenant, editor, stored_row):
    created = editor.post(
        f"/api/v1/rows/{stored_row.pk}/annotations/",
        {
            "class_name": "car",
            "geometry_type": "bbox",
            "geometry": {"x": 1, "y": 1, "w": 2, "h": 2},
        },
        content_type="application/json",
    )
    assert created.status_code == 201
    annotation_id = created.json()["id"]
    changed = editor.put(
        f"/api/v1/annotations/{annotation_id}/",
        {"class_name": "truck", "geometry_type": "none"},
        content_type="application/json",
    )
    assert changed.json()["class_name"] == "truck"
    assert editor.delete(f"/api/v1/annotations/{annotation_id}/").status_code == 204
    with tenant_context(tenant):
        assert not Annotation.objects.filter(pk=annotation_id).exists()


def test_bad_geometry_is_refused_with_the_field_named(editor, stored_row):
    before = row_as_shown(editor, stored_row)
    response = editor.post(
        f"/api/v1/rows/{stored_row.pk}/annotations/",
        {"class_name": "car", "geometry_type": "bbox", "geometry": {"x": 1}},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "geometry" in response.json()["fields"]
    assert row_as_shown(editor, stored_row) == before


def test_rows_of_another_tenant_answer_404(other_tenant, editor):
    with tenant_context(other_tenant):
        dataset = Dataset.objects.create(project=Project.objects.create(name="p"), name="d")
        theirs = DataRow.objects.create(dataset=dataset, external_id="secret", media_uri="m")
    assert editor.get(f"/api/v1/rows/{theirs.pk}/").status_code == 404
    assert editor.get(f"/api/v1/datasets/{dataset.pk}/rows/").status_code == 404


def test_deleting_a_row_deletes_it(tenant, editor, stored_row):
    assert editor.delete(f"/api/v1/rows/{stored_row.pk}/").status_code == 204
    with tenant_context(tenant):
        assert not DataRow.objects.filter(pk=stored_row.pk).exists()


def test_a_nul_character_in_metadata_is_a_400_and_changes_nothing(editor, stored_row):
    before = row_as_shown(editor, stored_row)
    response = editor.patch(
        f"/api/v1/rows/{stored_row.pk}/",
        {"metadata": {"k": "a\u0000b"}},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "metadata" in response.json()["fields"]
    assert row_as_shown(editor, stored_row) == before


def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


def test_metadata_nested_past_32_levels_is_a_400_and_changes_nothing(editor, stored_row):
    assert (
        editor.patch(
            f"/api/v1/rows/{stored_row.pk}/",
            {"metadata": _nested(32)},
            content_type="application/json",
        ).status_code
        == 200
    )
    before = row_as_shown(editor, stored_row)
    assert before[f"/api/v1/rows/{stored_row.pk}/"]["metadata"] == _nested(32)
    response = editor.patch(
        f"/api/v1/rows/{stored_row.pk}/",
        {"metadata": _nested(33)},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "deeper than 32" in response.json()["fields"]["metadata"][0]
    assert row_as_shown(editor, stored_row) == before


@pytest.mark.parametrize("project", ["abc", "0", "²"])
def test_a_bad_project_filter_is_a_400(editor, project):
    response = editor.get(f"/api/v1/datasets/?project={project}")
    assert response.status_code == 400
    assert "project" in response.json()["fields"]


def _filled_dataset(editor, tenant, project_id: int, name: str, rows: int) -> int:
    dataset_id = editor.post(
        "/api/v1/datasets/", {"project": project_id, "name": name}, content_type="application/json"
    ).json()["id"]
    with tenant_context(tenant):
        stored = DataRow.objects.bulk_create(
            DataRow(dataset_id=dataset_id, external_id=str(i), media_uri="m") for i in range(rows)
        )
        Annotation.objects.bulk_create(
            Annotation(data_row=row, class_name="car", geometry_type="none") for row in stored
        )
        ImportJob.objects.create(dataset_id=dataset_id, format="jsonl", file_name="x")
    return dataset_id


def _left(tenant, dataset_id: int) -> tuple[int, int, int]:
    with tenant_context(tenant):
        return (
            DataRow.objects.filter(dataset_id=dataset_id).count(),
            Annotation.objects.filter(data_row__dataset_id=dataset_id).count(),
            ImportJob.objects.filter(dataset_id=dataset_id).count(),
        )


def test_deleting_a_dataset_deletes_what_it_holds_and_nothing_else(tenant, editor, dataset):
    doomed = _filled_dataset(editor, tenant, dataset["project"], "doomed", rows=50)
    kept = _filled_dataset(editor, tenant, dataset["project"], "kept", rows=5)

    assert editor.delete(f"/api/v1/datasets/{doomed}/").status_code == 204

    assert editor.get(f"/api/v1/datasets/{doomed}/").status_code == 404
    assert (_left(tenant, doomed), _left(tenant, kept)) == ((0, 0, 0), (5, 5, 1))


def test_deleting_a_project_deletes_its_datasets_and_what_they_hold(tenant, editor, dataset):
    other_project = editor.post(
        "/api/v1/projects/", {"name": "other"}, content_type="application/json"
    ).json()["id"]
    doomed = _filled_dataset(editor, tenant, dataset["project"], "doomed", rows=20)
    kept = _filled_dataset(editor, tenant, other_project, "kept", rows=5)

    assert editor.delete(f"/api/v1/projects/{dataset['project']}/").status_code == 204

    assert editor.get(f"/api/v1/datasets/{dataset['id']}/").status_code == 404
    assert (_left(tenant, doomed), _left(tenant, kept)) == ((0, 0, 0), (5, 5, 1))
