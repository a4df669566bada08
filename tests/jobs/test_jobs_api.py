"""Every kind of job in one list: `GET /api/v1/jobs/`, newest first, filtered by kind and
status, with progress and who started it; a tenant's own jobs alone."""

import pytest

from tenants.roles import Role
from tests.support.database import wait_for_replica_catch_up
from tests.training.conftest import import_demo, make_slice, started, wait_for_run


@pytest.fixture
def owner(tenant, make_member, client_for):
    return make_member(tenant, Role.EDITOR)


@pytest.fixture
def editor(tenant, owner, client_for):
    return client_for(tenant, owner)


def _jobs(client, query: str = "") -> list[dict]:
    wait_for_replica_catch_up()
    response = client.get(f"/api/v1/jobs/{query}")
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.fixture
def two_kinds(tenant, editor) -> dict:
    """The demo's two imports (100 digits, then 1 shape) and a training run cancelled at once."""
    import_demo(tenant, "--digits", "100", "--shapes", "1")
    digits = next(
        d for d in editor.get("/api/v1/datasets/").json()["results"] if d["name"] == "digits"
    )
    run = started(
        editor, make_slice(editor, digits["id"], "digits")["id"],
        hyperparameters={"epochs": 50},
    )  # fmt: skip
    editor.post(f"/api/v1/training-runs/{run['id']}/cancel/")
    return wait_for_run(editor, run["id"])


def test_every_kind_is_listed_newest_first_with_its_progress_and_who_started_it(
    editor, owner, two_kinds
):
    run = two_kinds
    jobs = _jobs(editor)
    assert [(j["kind"], j["status"]) for j in jobs] == [
        ("training_run", "cancelled"),
        ("import", "succeeded"),
        ("import", "succeeded"),
    ]
    listed_run, shapes, digits = jobs
    assert listed_run["id"] == run["id"]
    assert listed_run["url"] == f"/api/v1/training-runs/{run['id']}/"
    assert listed_run["created_by"] == {"id": owner.pk, "email": owner.email}
    assert listed_run["progress"] == {"done": run["epoch"], "total": 50, "unit": "epochs"}
    assert (listed_run["created_at"], listed_run["finished_at"]) == (
        run["created_at"],
        run["finished_at"],
    )
    assert digits["progress"] == {"done": 100, "total": 100, "unit": "records"}
    assert shapes["progress"] == {"done": 1, "total": 1, "unit": "records"}
    assert digits["created_by"] is None  # the operator's demo_data command made it
    detail = editor.get(digits["url"]).json()
    assert (detail["id"], detail["status"], detail["created"]) == (digits["id"], "succeeded", 100)


def test_jobs_are_filtered_by_kind_and_status(editor, two_kinds):
    assert [j["kind"] for j in _jobs(editor, "?kind=import")] == ["import", "import"]
    assert [j["id"] for j in _jobs(editor, "?status=cancelled")] == [two_kinds["id"]]
    assert _jobs(editor, "?kind=import&status=cancelled") == []
    assert _jobs(editor, "?kind=evaluation") == []


def test_a_page_is_as_long_as_asked_and_links_the_next(editor, two_kinds):
    first = editor.get("/api/v1/jobs/?page_size=2").json()
    assert [j["kind"] for j in first["results"]] == ["training_run", "import"]
    rest = editor.get(first["next"]).json()
    assert [j["kind"] for j in rest["results"]] == ["import"] and rest["next"] is None


def test_an_unknown_kind_or_status_is_refused_naming_the_field(editor):
    for query, field in (("?kind=export", "kind"), ("?status=sleeping", "status")):
        refused = editor.get(f"/api/v1/jobs/{query}")
        assert (refused.status_code, list(refused.json()["fields"])) == (400, [field])


def test_another_tenant_sees_none_of_the_jobs(other_tenant, make_member, client_for, two_kinds):
    outsider = client_for(other_tenant, make_member(other_tenant, Role.OWNER))
    assert _jobs(outsider) == []


def test_a_viewer_lists_the_jobs(tenant, make_member, client_for, two_kinds):
    viewer = client_for(tenant, make_member(tenant, Role.VIEWER), reads_others=True)
    assert len(_jobs(viewer)) == 3
