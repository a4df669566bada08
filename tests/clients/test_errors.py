"""Every refusal reaches the caller as the typed error of its status, carrying the API's
code, detail, fields and error id; another tenant's things are simply not found."""

from __future__ import annotations

import pytest
from loupe_client import (
    ApiError,
    AuthenticationError,
    Client,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)

from tenants.roles import Role
from tests.clients.conftest import api_key_for, url_of


def test_a_refused_input_names_its_fields(loupe):
    project = loupe.projects.create("drive")
    with pytest.raises(ValidationError) as raised:
        loupe.datasets.create(project["id"], "")
    error = raised.value
    assert (error.status, error.code, list(error.fields)) == (400, "invalid", ["name"])
    assert error.detail and error.error_id


def test_a_query_that_does_not_parse_carries_its_code_and_position(loupe, dataset):
    with pytest.raises(ValidationError) as raised:
        loupe.search("width < 'big'", datasets=[dataset["id"]]).total  # noqa: B018 (it sends)
    error = raised.value
    assert (error.code, error.extra, list(error.fields)) == (
        "type_mismatch",
        {"line": 1, "column": 9},
        ["query"],
    )


def test_a_token_the_platform_does_not_accept_is_an_authentication_error(api_url):
    with (
        Client(api_url, token="not-a-token") as client,
        pytest.raises(AuthenticationError) as raised,
    ):
        client.me()
    assert raised.value.status == 401 and raised.value.code and raised.value.error_id


def test_a_missing_dataset_is_not_found(loupe):
    with pytest.raises(NotFound) as raised:
        loupe.datasets.get(999_999)
    assert (raised.value.status, raised.value.code) == (404, "not_found")


def test_a_viewer_may_read_but_not_create(api_url, tenant):
    with Client(api_url, api_key=api_key_for(tenant, Role.VIEWER)) as viewer:
        list(viewer.projects.list())
        with pytest.raises(PermissionDenied) as raised:
            viewer.projects.create("mine")
    assert raised.value.status == 403


def test_a_taken_name_is_a_conflict(loupe):
    loupe.projects.create("drive")
    with pytest.raises(Conflict) as raised:
        loupe.projects.create("drive")
    assert (raised.value.code, list(raised.value.fields)) == ("project_name_taken", ["name"])


def test_another_tenants_dataset_is_not_found_by_any_call(asgi_server, loupe, other_tenant):
    with Client(url_of(asgi_server, other_tenant), api_key=api_key_for(other_tenant)) as other:
        theirs = other.datasets.create(other.projects.create("theirs")["id"], "secret")
    calls = [
        lambda: loupe.datasets.get(theirs["id"]),
        lambda: next(loupe.datasets.rows(theirs["id"])),
        lambda: loupe.slices.create("peek", dataset=theirs["id"]),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            call()
    assert theirs["id"] not in {d["id"] for d in loupe.datasets.list()}


def test_predict_sent_to_the_apis_port_is_told_where_the_predict_server_is(api_url, api_key):
    with Client(api_url, api_key=api_key) as client, pytest.raises(ApiError) as raised:
        client.predict("digits", 1, row=1)
    error = raised.value
    assert (error.status, error.code) == (421, "served_by_predict_server")
    assert "predict server" in error.detail
