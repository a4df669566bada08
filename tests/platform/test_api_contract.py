"""The API refuses what breaks its schema, with the error body naming the field, and stores
nothing: the leniencies DRF has by default are closed (docs/errors.md)."""

import pytest

from tenants.roles import Role


@pytest.fixture
def editor(tenant, make_member, client_for):
    return client_for(tenant, make_member(tenant, Role.EDITOR))


def _refused(response, field: str, code: str = "invalid") -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert (body["code"], list(body.get("fields", {}))) == (code, [field])
    assert body["error_id"]


@pytest.mark.parametrize("name", [0, 1.5, True, ["drive"], {"a": 1}])
def test_a_string_field_takes_a_string_only(editor, name):
    created = editor.post("/api/v1/projects/", {"name": name}, content_type="application/json")
    _refused(created, "name")
    assert created.json()["fields"]["name"] == ["Must be a string."]
    assert editor.get("/api/v1/projects/").json()["results"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": "", "page_size": "5"}, "page_size"),
        ({"query": "", "page_size": True}, "page_size"),
        ({"query": 5}, "query"),
        ({"query": "", "datasets": ["1"]}, "datasets"),
    ],
)
def test_search_takes_its_json_types(editor, body, field):
    _refused(editor.post("/api/v1/search/", body, content_type="application/json"), field)


def test_search_takes_json_not_a_form(editor):
    form = editor.post("/api/v1/search/", {"query": "[1, 2]"})  # multipart
    assert (form.status_code, form.json()["code"]) == (415, "unsupported_media_type")
    array = editor.post("/api/v1/search/", [1, 2], content_type="application/json")
    assert (array.status_code, array.json()["code"]) == (400, "invalid")
    broken = editor.post("/api/v1/search/", "{", content_type="application/json")
    assert (broken.status_code, broken.json()["code"]) == (400, "parse_error")


def test_an_empty_query_parameter_is_a_value_not_an_absence(
    tenant, make_member, client_for, editor
):
    _refused(editor.get("/api/v1/slices/?dataset="), "dataset")
    _refused(editor.get("/api/v1/jobs/?status="), "status")
    owner = client_for(tenant, make_member(tenant, Role.OWNER))
    _refused(owner.get("/api/v1/audit/?since="), "since")
    assert editor.get("/api/v1/slices/").status_code == 200


def test_a_cursor_not_given_by_the_list_is_a_400(editor):
    _refused(editor.get("/api/v1/projects/?cursor=not-a-cursor"), "cursor", "invalid_cursor")


@pytest.mark.parametrize("size", ["0", "-1", "abc", "null", "501", "2.5"])
def test_a_page_size_out_of_range_is_a_400(editor, size):
    _refused(editor.get(f"/api/v1/jobs/?page_size={size}"), "page_size")


def test_a_page_size_in_range_is_served(editor):
    response = editor.get("/api/v1/jobs/?page_size=500")
    assert (response.status_code, response.json()["results"]) == (200, [])
