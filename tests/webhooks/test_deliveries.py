"""Deliveries, made by the real workers to a real endpoint: when a job of any kind ends, each
webhook subscribed to its event gets a signed POST; a failing receiver is retried with
backoff, and a webhook that keeps failing is disabled. A tenant's webhooks hear of its own
jobs alone. A delivery outlives a worker SIGKILLed while it waits for the receiver."""

import json
import socket

import pytest

from tenants.roles import Role
from tests.datasets.conftest import jsonl, row, upload, wait_for_job
from tests.support import processes
from tests.support.database import wait_for_replica_catch_up
from tests.training.conftest import import_demo, make_slice, started, wait_for_run
from tests.webhooks.conftest import deliveries, register, verified, wait_for_deliveries


@pytest.fixture
def editor(tenant, make_member, client_for):
    return client_for(tenant, make_member(tenant, Role.EDITOR))


def _dataset(client) -> int:
    project = client.post(
        "/api/v1/projects/", {"name": "hooks"}, content_type="application/json"
    ).json()
    response = client.post(
        "/api/v1/datasets/", {"project": project["id"], "name": "frames"},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _imported(client, content: bytes) -> dict:
    response = upload(client, _dataset(client), content, "rows.jsonl", "jsonl")
    assert response.status_code == 202, response.content
    return wait_for_job(client, response.json()["id"])


def test_an_ended_job_is_delivered_signed_with_its_listing(
    celery_worker, receiver, tenant, admin, editor
):
    webhook = register(admin, receiver.url("/hooks"), ["job.succeeded"])
    job = _imported(editor, jsonl([row(i) for i in range(3)]))
    assert job["status"] == "succeeded"

    [request] = receiver.wait_for("/hooks")
    payload = json.loads(request.body)
    assert request.headers["Loupe-Event"] == payload["event"] == "job.succeeded"
    assert request.headers["Loupe-Delivery"] == payload["id"]
    assert payload["tenant"] == tenant.slug
    wait_for_replica_catch_up()
    listed = editor.get("/api/v1/jobs/?kind=import").json()["results"]
    assert payload["job"] == next(j for j in listed if j["id"] == job["id"])
    assert payload["job"]["progress"] == {"done": 3, "total": 3, "unit": "records"}

    assert verified(webhook["secret"], request.headers, request.body)
    forged_body = request.body.replace(b"succeeded", b"cancelled")
    assert not verified(webhook["secret"], request.headers, forged_body)
    assert not verified("whsec_guessed", request.headers, request.body)
    stale = dict(request.headers)
    stale["Loupe-Signature"] = stale["Loupe-Signature"].replace("t=", "t=1", 1)
    assert not verified(webhook["secret"], stale, request.body)

    [delivery] = wait_for_deliveries(admin, webhook["id"])
    assert (delivery["id"], delivery["event"], delivery["status"]) == (
        payload["id"],
        "job.succeeded",
        "succeeded",
    )
    assert (delivery["attempts"], delivery["response_status"]) == (1, 200)
    assert delivery["payload"] == payload


def test_a_failed_and_a_cancelled_job_reach_the_webhooks_subscribed_to_them(
    celery_worker, receiver, tenant, admin, editor
):
    register(admin, receiver.url("/failed"), ["job.failed"])
    register(admin, receiver.url("/cancelled"), ["job.cancelled"])
    failed = _imported(editor, b"not json\n{also not}\n")
    assert failed["status"] == "failed"
    import_demo(tenant, "--digits", "40", "--shapes", "1")
    digits = next(
        d for d in editor.get("/api/v1/datasets/").json()["results"] if d["name"] == "digits"
    )
    run = started(editor, make_slice(editor, digits["id"], "digits")["id"])
    editor.post(f"/api/v1/training-runs/{run['id']}/cancel/")
    assert wait_for_run(editor, run["id"])["status"] == "cancelled"

    [failure] = receiver.wait_for("/failed")
    [cancel] = receiver.wait_for("/cancelled")
    assert json.loads(failure.body)["job"]["id"] == failed["id"]
    assert json.loads(failure.body)["job"]["kind"] == "import"
    assert json.loads(cancel.body)["job"]["kind"] == "training_run"
    assert json.loads(cancel.body)["job"]["id"] == run["id"]
    assert json.loads(cancel.body)["job"]["status"] == "cancelled"
    # Neither heard of the other's event, nor of the demo's imports that succeeded.
    assert (len(receiver.received("/failed")), len(receiver.received("/cancelled"))) == (1, 1)


def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(
    celery_worker, receiver, admin
):
    webhook = register(admin, receiver.url("/flaky"))
    receiver.answer("/flaky", 500, 503)
    response = admin.post(f"/api/v1/webhooks/{webhook['id']}/ping/")
    assert response.status_code == 202, response.content
    assert (response.json()["event"], response.json()["status"]) == ("ping", "pending")

    first, second, third = receiver.wait_for("/flaky", count=3)
    assert {r.headers["Loupe-Delivery"] for r in (first, second, third)} == {response.json()["id"]}
    # WEBHOOK_RETRY_SECONDS is 1 here: 1 s, then 2 s.
    assert second.at - first.at >= 1 and third.at - second.at >= 2
    assert all(verified(webhook["secret"], r.headers, r.body) for r in (first, second, third))
    [delivery] = wait_for_deliveries(admin, webhook["id"])
    assert (delivery["status"], delivery["attempts"], delivery["response_status"]) == (
        "succeeded",
        3,
        200,
    )


def test_a_receiver_that_trickles_its_answer_is_cut_off_at_the_timeout_and_tried_again(
    celery_worker, receiver, admin
):
    webhook = register(admin, receiver.url("/trickle"))
    receiver.trickle("/trickle")
    assert admin.post(f"/api/v1/webhooks/{webhook['id']}/ping/").status_code == 202
    first, second = receiver.wait_for("/trickle", count=2)
    # WEBHOOK_TIMEOUT_SECONDS is 5 here, then a retry a second later; the answer takes 60.
    assert second.at - first.at < 30
    [delivery] = wait_for_deliveries(admin, webhook["id"])
    assert (delivery["status"], delivery["attempts"], delivery["response_status"]) == (
        "succeeded",
        2,
        200,
    )


def test_a_webhook_whose_deliveries_keep_failing_is_disabled_until_made_active(
    celery_worker, receiver, admin, editor
):
    webhook = register(admin, receiver.url("/down"))
    receiver.answer("/down", *[500] * 6)  # WEBHOOK_MAX_ATTEMPTS 3, disabled after 2 failures
    for count in (1, 2):
        assert admin.post(f"/api/v1/webhooks/{webhook['id']}/ping/").status_code == 202
        log = wait_for_deliveries(admin, webhook["id"], count=count)
        assert (log[0]["status"], log[0]["attempts"], log[0]["response_status"]) == (
            "failed",
            3,
            500,
        )
    shown = admin.get(f"/api/v1/webhooks/{webhook['id']}/").json()
    assert (shown["active"], shown["failures_in_a_row"]) == (False, 2)
    assert "2 deliveries in a row failed" in shown["disabled_reason"]
    assert "HTTP 500" in shown["disabled_reason"]
    refused = admin.post(f"/api/v1/webhooks/{webhook['id']}/ping/")
    assert (refused.status_code, refused.json()["code"]) == (409, "webhook_not_active")

    _imported(editor, jsonl([row(1)]))  # ends while the webhook is disabled: nothing sent
    assert len(wait_for_deliveries(admin, webhook["id"], count=2)) == 2
    assert len(receiver.received("/down")) == 6

    enabled = admin.patch(
        f"/api/v1/webhooks/{webhook['id']}/", {"active": True}, content_type="application/json"
    ).json()
    assert (enabled["active"], enabled["failures_in_a_row"], enabled["disabled_reason"]) == (
        True,
        0,
        "",
    )
    assert admin.post(f"/api/v1/webhooks/{webhook['id']}/ping/").status_code == 202
    assert wait_for_deliveries(admin, webhook["id"], count=3)[0]["status"] == "succeeded"


def test_a_tenants_webhooks_hear_of_its_own_jobs_alone(
    celery_worker, receiver, tenant, other_tenant, admin, editor, make_member, client_for
):
    other_admin = client_for(other_tenant, make_member(other_tenant, Role.ADMIN))
    other_editor = client_for(other_tenant, make_member(other_tenant, Role.EDITOR))
    register(admin, receiver.url("/ours"), ["job.succeeded"])
    register(other_admin, receiver.url("/theirs"), ["job.succeeded"])
    ours = _imported(editor, jsonl([row(1)]))
    theirs = _imported(other_editor, jsonl([row(2)]))

    [to_us] = receiver.wait_for("/ours")
    [to_them] = receiver.wait_for("/theirs")
    assert (json.loads(to_us.body)["tenant"], json.loads(to_us.body)["job"]["id"]) == (
        tenant.slug,
        ours["id"],
    )
    assert (json.loads(to_them.body)["tenant"], json.loads(to_them.body)["job"]["id"]) == (
        other_tenant.slug,
        theirs["id"],
    )
    assert (len(receiver.received("/ours")), len(receiver.received("/theirs"))) == (1, 1)


def test_a_delivery_whose_worker_is_sigkilled_mid_attempt_is_made_by_another(
    celery_worker, receiver, admin, tmp_path
):
    webhook = register(admin, receiver.url("/slow"))
    answer = receiver.hold("/slow")
    session_worker = f"celery@{socket.gethostname()}"
    processes.consume("default", worker=session_worker, on=False)
    try:
        with processes.celery_worker(
            tmp_path / "doomed.log", queues="default", name="doomed@%h", pool="prefork"
        ) as doomed:
            ping = admin.post(f"/api/v1/webhooks/{webhook['id']}/ping/").json()
            [first] = receiver.wait_for("/slow")  # the doomed worker waits for its answer
            processes.kill_process_group(doomed.process)
        assert [d["status"] for d in deliveries(admin, webhook["id"])] == ["pending"]
    finally:
        answer.set()
        # The session worker is the one left: the deliveries' sweep (sent by beat) sends it
        # again there.
        processes.consume("default", worker=session_worker, on=True)

    [delivery] = wait_for_deliveries(admin, webhook["id"], timeout=90)
    first, second = receiver.received("/slow")
    assert {first.headers["Loupe-Delivery"], second.headers["Loupe-Delivery"]} == {ping["id"]}
    assert verified(webhook["secret"], second.headers, second.body)
    assert (delivery["status"], delivery["attempts"], delivery["response_status"]) == (
        "succeeded",
        1,
        200,
    )
