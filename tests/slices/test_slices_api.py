"""Slices (live saved queries) and their numbered snapshots, through the API and the admin."""

from __future__ import annotations

import pytest
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.roles import Role
from tests.slices.conftest import SCENE_SIZE, scene_row
from tests.support.stored import shown

SLICES = "/api/v1/slices/"

FRONT = [scene_row(i)["external_id"] for i in range(SCENE_SIZE) if i % 3 == 0]


def post(client, path: str, body: dict | None = None):
    return client.post(path, body or {}, content_type="application/json")


@pytest.fixture
def front_slice(editor, scene) -> dict:
    response = post(
        editor,
        "/api/v1/slices/",
        {"name": "front", "dataset": scene["id"], "query": "metadata.camera = 'front'"},
    )
    assert response.status_code == 201, response.content
    return response.json()


def all_pages(client, path: str, page_size: int = 4) -> tuple[list[str], dict]:
    seen, cursor = [], None
    while True:
        url = f"{path}?page_size={page_size}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        seen += [r["external_id"] for r in body["rows"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, body


def test_a_slice_pages_through_the_rows_its_query_matches(editor, front_slice):
    rows, last = all_pages(editor, f"/api/v1/slices/{front_slice['id']}/rows/")
    assert rows == FRONT
    assert last["total"] == len(FRONT)
    count = editor.get(f"/api/v1/slices/{front_slice['id']}/count/").json()
    assert count["count"] == len(FRONT)


def test_a_slice_with_a_bad_query_is_refused_and_not_stored(editor, front_slice):
    before = shown(editor, SLICES)
    response = post(
        editor, SLICES, {"name": "bad", "dataset": front_slice["dataset"], "query": "width > 'x'"}
    )
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["column"]) == ("type_mismatch", 9)
    assert shown(editor, SLICES) == before


def test_a_slice_name_with_a_nul_character_is_refused_and_not_stored(editor, front_slice):
    before = shown(editor, SLICES)
    response = post(editor, SLICES, {"name": "a\u0000b", "dataset": front_slice["dataset"]})
    assert response.status_code == 400
    assert "name" in response.json()["fields"]
    assert shown(editor, SLICES) == before


def test_a_slice_name_is_unique_in_its_dataset(editor, front_slice):
    before = shown(editor, SLICES)
    response = post(editor, SLICES, {"name": "front", "dataset": front_slice["dataset"]})
    assert (response.status_code, response.json()["code"]) == (409, "slice_name_taken")
    assert shown(editor, SLICES) == before


def test_a_slice_of_an_unknown_dataset_is_404(editor, front_slice):
    before = shown(editor, SLICES)
    response = post(editor, SLICES, {"name": "x", "dataset": front_slice["dataset"] + 99})
    assert response.status_code == 404
    assert shown(editor, SLICES) == before


def test_changing_a_slice_query_is_checked(editor, front_slice):
    path = f"/api/v1/slices/{front_slice['id']}/"
    before = shown(editor, path, f"{path}rows/")
    bad = editor.patch(path, {"query": "label(area > )"}, content_type="application/json")
    assert bad.status_code == 400
    assert shown(editor, path, f"{path}rows/") == before
    good = editor.patch(path, {"query": "metadata.i < 3"}, content_type="application/json")
    assert good.status_code == 200
    assert all_pages(editor, f"{path}rows/")[0] == ["img-000", "img-001", "img-002"]


def test_snapshots_freeze_the_rows_and_are_numbered(editor, front_slice, scene):
    base = f"/api/v1/slices/{front_slice['id']}/snapshots/"
    first = post(editor, base)
    assert first.status_code == 201, first.content
    assert (first.json()["number"], first.json()["row_count"]) == (1, len(FRONT))
    # The data changes: the live slice follows, the snapshot does not.
    row = editor.post(
        "/api/v1/search/", {"query": "metadata.i = 0"}, content_type="application/json"
    ).json()["rows"][0]
    editor.patch(
        f"/api/v1/rows/{row['id']}/",
        {"metadata": {"camera": "rear"}},
        content_type="application/json",
    )
    second = post(editor, base).json()
    assert (second["number"], second["row_count"]) == (2, len(FRONT) - 1)
    frozen, last = all_pages(editor, f"{base}1/rows/", page_size=3)
    assert frozen == FRONT and last["total"] == len(FRONT)
    assert all_pages(editor, f"{base}2/rows/")[0] == FRONT[1:]
    listed = editor.get(base).json()["results"]
    assert [s["number"] for s in listed] == [2, 1]


def test_viewers_read_slices_but_cannot_make_them(viewer, front_slice):
    snapshots = f"/api/v1/slices/{front_slice['id']}/snapshots/"
    assert viewer.get(f"/api/v1/slices/{front_slice['id']}/rows/").status_code == 200
    before = shown(viewer, SLICES, snapshots)
    refused = post(viewer, SLICES, {"name": "v", "dataset": front_slice["dataset"]})
    assert refused.status_code == 403
    assert post(viewer, snapshots).status_code == 403
    assert shown(viewer, SLICES, snapshots) == before


def test_slices_of_one_tenant_are_not_found_in_another(
    front_slice, make_tenant, make_member, client_for
):
    with schema_context(get_public_schema_name()):  # requests leave the tenant's schema set
        other_tenant = make_tenant()
    stranger = client_for(other_tenant, make_member(other_tenant, Role.OWNER))
    assert stranger.get(f"/api/v1/slices/{front_slice['id']}/").status_code == 404
    assert stranger.get(f"/api/v1/slices/{front_slice['id']}/rows/").status_code == 404


def test_slices_and_snapshots_appear_in_the_tenant_admin(
    tenant, make_member, client_for, front_slice
):

    admin = client_for(tenant, make_member(tenant, Role.ADMIN))
    post(admin, f"/api/v1/slices/{front_slice['id']}/snapshots/")
    assert "front" in admin.get("/admin/slices/slice/").content.decode()
    assert admin.get("/admin/slices/slicesnapshot/").status_code == 200


def test_rows_deleted_after_a_snapshot_leave_its_pages_but_not_its_count(editor, front_slice):
    base = f"/api/v1/slices/{front_slice['id']}/snapshots/"
    post(editor, base)
    first = editor.get(f"{base}1/rows/?page_size=1").json()["rows"][0]
    assert editor.delete(f"/api/v1/rows/{first['id']}/").status_code == 204
    rows, last = all_pages(editor, f"{base}1/rows/")
    assert rows == FRONT[1:]
    assert last["total"] == len(FRONT)
