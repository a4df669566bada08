"""The OpenAPI document describes every endpoint, with no generator warnings."""

import io

import pytest
from django.core.management import call_command


def test_openapi_schema_generates_without_warnings_and_validates(live_db):
    out = io.StringIO()
    call_command(
        "spectacular", urlconf="loupe.urls_api", validate=True, fail_on_warn=True, stdout=out
    )
    schema = out.getvalue()
    for path in (
        "/api/v1/me/",
        "/api/v1/members/",
        "/api/v1/api-keys/",
        "/api/v1/session/",
        "/api/v1/projects/",
    ):
        assert f"  {path}:" in schema


@pytest.mark.parametrize("host", ["localhost", "acme-docs.localhost"])
def test_docs_are_served(host, make_tenant):
    from django.test import Client

    if host != "localhost":
        make_tenant(slug="acme-docs")
    client = Client(HTTP_HOST=host)
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


def _schema(live_db) -> dict:
    import yaml

    out = io.StringIO()
    call_command("spectacular", urlconf="loupe.urls_api", stdout=out)
    return yaml.safe_load(out.getvalue())


def test_cursor_lists_are_described_as_their_pages(live_db):
    schema = _schema(live_db)
    for path in ("/api/v1/projects/", "/api/v1/datasets/{dataset_id}/rows/", "/api/v1/jobs/"):
        ok = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        page = schema["components"]["schemas"][ok["schema"]["$ref"].rsplit("/", 1)[1]]
        assert set(page["properties"]) == {"next", "previous", "results"}, path
        assert page["properties"]["results"]["type"] == "array"
        parameters = {p["name"] for p in schema["paths"][path]["get"]["parameters"]}
        assert "cursor" in parameters, path


def test_every_operation_describes_its_errors_with_the_one_body(live_db):
    schema = _schema(live_db)
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "detail"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert {"401", "403", "429", "503"} <= statuses, (method, path)
            if "{" in path:
                assert "404" in statuses, (method, path)
            if "requestBody" in operation:
                assert {"400", "415"} <= statuses, (method, path)
            body = operation["responses"]["401"]["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/Error"}


def test_the_document_describes_the_websockets(live_db):
    description = _schema(live_db)["info"]["description"]
    for socket in ("ws/events/", "ws/imports/<id>/?after=N", "ws/training-runs/<id>/?after=N"):
        assert socket in description
