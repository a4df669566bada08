"""A tenant's limits: training runs past its concurrency wait `queued` saying why, even with
a worker free, and start when a place frees; past its count of runs queued or running, a
submission is refused; admins read the usage, operators set the limits in the admin."""

from __future__ import annotations

import time

import pytest
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.models import TenantQuota
from tenants.roles import Role
from tests.support import processes
from tests.support.admin_forms import operators_admin, posted_form
from tests.training.conftest import DIGITS, started, submit, wait_for_run

RUNNING = ("running",)


@pytest.fixture
def second_gpu_worker(gpu_worker, tmp_path):
    """Another worker on the gpu queue: without a tenant limit, two runs would run at once."""
    with processes.celery_worker(
        tmp_path / "gpu-b.log", queues="gpu", name="gpu-b@%h", pool="prefork"
    ) as worker:
        yield worker


def _quota(tenant, **limits) -> None:
    with schema_context(get_public_schema_name()):
        TenantQuota.objects.update_or_create(tenant=tenant, defaults=limits)


def _waiting(client, run_id: int, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/v1/training-runs/{run_id}/").json()
        if run["waiting_for"]:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} was not left waiting: {run}")


def test_a_run_past_the_tenants_concurrency_waits_queued_then_starts_when_one_ends(
    tenant, editor, digits, second_gpu_worker
):
    _quota(tenant, concurrent_training_runs=1)
    first = started(editor, digits["id"], hyperparameters={"epochs": 8})
    wait_for_run(editor, first["id"], statuses=RUNNING)
    second = started(editor, digits["id"], hyperparameters={"epochs": 1})

    # The free worker takes it, and leaves it queued, saying why.
    waiting = _waiting(editor, second["id"])
    assert waiting["status"] == "queued"
    assert waiting["waiting_for"].startswith("tenant_limit: 1 of this tenant's training runs")
    assert editor.get(f"/api/v1/training-runs/{first['id']}/").json()["status"] == "running"

    first = wait_for_run(editor, first["id"])
    assert first["status"] == "succeeded"
    second = wait_for_run(editor, second["id"])
    assert (second["status"], second["waiting_for"]) == ("succeeded", "")
    assert second["started_at"] >= first["finished_at"]


def test_past_the_tenants_count_of_runs_a_submission_is_refused_and_nothing_stored(
    tenant, editor, digits
):
    _quota(tenant, training_runs=1)
    started(editor, digits["id"], hyperparameters={"epochs": 1})
    refused = submit(editor, digits["id"], hyperparameters={"epochs": 1})
    assert refused.status_code == 429, refused.content
    assert refused.json()["code"] == "training_run_limit"
    assert len(editor.get("/api/v1/training-runs/").json()["results"]) == 1


def test_admins_read_the_usage_and_others_may_not(tenant, editor, make_member, client_for):
    _quota(tenant, rows=500, concurrent_imports=3)
    admin = client_for(tenant, make_member(tenant, Role.ADMIN))
    usage = admin.get("/api/v1/tenant/usage/")
    assert usage.status_code == 200, usage.content
    body = usage.json()
    assert body["rows"] == {"used": 0, "limit": 500}
    assert body["jobs"]["import"] == {"queued": 0, "running": 0, "limit": 3}
    assert body["jobs"]["training_run"]["limit"] == 2  # the platform's default
    assert editor.get("/api/v1/tenant/usage/").status_code == 403


def test_operators_set_a_tenants_limits_in_the_admin_and_see_its_usage(tenant, editor, digits):
    admin = operators_admin(tenant)
    path = f"/admin/tenants/tenant/{tenant.pk}/change/"
    page = admin.get(path)
    assert page.status_code == 200
    assert f"rows {DIGITS + 12:,} of {100_000_000:,}" in page.content.decode()

    form = posted_form(page.content.decode(), "tenant_form", **{"quota-0-training_runs": "1"})
    saved = admin.post(path, form)
    assert saved.status_code == 302, saved.content.decode()[:2000]  # 200 would show errors

    started(editor, digits["id"], hyperparameters={"epochs": 1})
    refused = submit(editor, digits["id"], hyperparameters={"epochs": 1})
    assert (refused.status_code, refused.json()["code"]) == (429, "training_run_limit")
