"""Registering webhooks: `/api/v1/webhooks/` for a tenant's admins, its secret shown once,
URLs that would reach the platform's own network refused, each change in the audit log."""

import pytest

from tenants.roles import Role
from tests.support.database import wait_for_replica_catch_up
from tests.webhooks.conftest import register

PUBLIC = "http://93.184.215.14/hooks/loupe"  # an address literal: nothing here resolves names


def test_an_admin_registers_a_webhook_and_sees_its_secret_once(admin):
    made = register(admin, PUBLIC, ["job.failed", "job.succeeded", "job.failed"])
    assert made["secret"].startswith("whsec_") and len(made["secret"]) > 40
    assert (made["url"], made["events"], made["active"]) == (
        PUBLIC,
        ["job.failed", "job.succeeded"],
        True,
    )
    wait_for_replica_catch_up()
    shown = admin.get(f"/api/v1/webhooks/{made['id']}/").json()
    listed = admin.get("/api/v1/webhooks/").json()["results"]
    assert "secret" not in shown and [w["id"] for w in listed] == [made["id"]]
    assert "secret" not in listed[0]
    assert shown == {k: v for k, v in made.items() if k != "secret"}


def test_changes_and_the_deletion_are_in_the_audit_log(admin):
    made = register(admin, PUBLIC, ["job.failed"])
    changed = admin.patch(
        f"/api/v1/webhooks/{made['id']}/",
        {"events": ["job.cancelled"], "active": False},
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.content
    assert (changed.json()["events"], changed.json()["active"]) == (["job.cancelled"], False)
    assert changed.json()["disabled_reason"] == "paused by an admin"
    assert admin.delete(f"/api/v1/webhooks/{made['id']}/").status_code == 204
    wait_for_replica_catch_up()
    assert admin.get(f"/api/v1/webhooks/{made['id']}/").status_code == 404
    entries = admin.get("/api/v1/audit/").json()["results"]
    actions = [
        (e["action"], e["target"]["id"]) for e in entries if e["target"]["type"] == "webhook"
    ]
    assert actions == [
        ("webhook.deleted", made["id"]),
        ("webhook.changed", made["id"]),
        ("webhook.created", made["id"]),
    ]


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://10.1.2.3/hook", "private"),
        ("http://192.168.0.10:8080/", "private"),
        ("https://172.16.5.5/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[fd00::1]/", "private"),
        ("http://[::ffff:10.0.0.1]/", "private"),
        ("http://0.0.0.0:8000/", "unspecified"),
        ("http://100.64.0.1/", "non-public"),
        ("http://[2002:c0a8:101::1]/", "tunnelled (6to4 or Teredo)"),
    ],
)
def test_a_url_that_reaches_a_non_public_address_is_refused(admin, url, kind):
    response = admin.post(
        "/api/v1/webhooks/", {"url": url, "events": ["job.failed"]}, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "webhook_url_not_allowed"
    assert f"a {kind} address" in body["detail"] and "url" in body["fields"]
    wait_for_replica_catch_up()
    assert admin.get("/api/v1/webhooks/").json()["results"] == []


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/hook", "http://localhost/", "http://[::1]/"]
)
def test_loopback_is_refused_unless_a_setting_allows_it(admin, settings, url):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    response = admin.post(
        "/api/v1/webhooks/", {"url": url, "events": ["job.failed"]}, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "webhook_url_not_allowed"
    # A name's address is not told (it would map the network beside Loupe); a literal's kind is.
    detail = response.json()["detail"]
    assert detail.endswith("webhooks go to public addresses only.")
    if "localhost" in url:
        assert detail.startswith("localhost resolves to an address that is not public")
    else:
        assert "a loopback address" in detail and "resolves" not in detail


def test_a_change_to_a_non_public_url_is_refused_and_changes_nothing(admin):
    made = register(admin, PUBLIC, ["job.failed"])
    response = admin.patch(
        f"/api/v1/webhooks/{made['id']}/",
        {"url": "http://10.0.0.8/", "events": ["job.succeeded"]},
        content_type="application/json",
    )
    assert response.status_code == 400 and response.json()["code"] == "webhook_url_not_allowed"
    wait_for_replica_catch_up()
    shown = admin.get(f"/api/v1/webhooks/{made['id']}/").json()
    assert (shown["url"], shown["events"]) == (PUBLIC, ["job.failed"])


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"url": "ftp://93.184.215.14/", "events": ["job.failed"]},
         "webhook_url_not_allowed", "url"),
        ({"url": "not a url", "events": ["job.failed"]}, "invalid", "url"),
        ({"url": PUBLIC, "events": []}, "invalid", "events"),
        ({"url": PUBLIC, "events": ["job.exploded"]}, "invalid", "events"),
        ({"url": PUBLIC}, "invalid", "events"),
        ({"url": "http://user:pw@93.184.215.14/", "events": ["job.failed"]},
         "webhook_url_not_allowed", "url"),
        ({"url": "http://hooks.does-not-exist.invalid/", "events": ["job.failed"]},
         "webhook_url_unresolvable", "url"),
        ({"url": "http://93.184.215.14:99999/", "events": ["job.failed"]},
         "webhook_url_not_allowed", "url"),
        ({"url": "http://93.184.215.14:0/", "events": ["job.failed"]},
         "webhook_url_not_allowed", "url"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_with_its_field(admin, body, code, field):
    response = admin.post("/api/v1/webhooks/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code and field in response.json()["fields"]
    wait_for_replica_catch_up()
    assert admin.get("/api/v1/webhooks/").json()["results"] == []


def test_another_tenants_admin_sees_nothing_of_a_webhook(
    other_tenant, admin, make_member, client_for
):
    made = register(admin, PUBLIC, ["job.failed"])
    stranger = client_for(other_tenant, make_member(other_tenant, Role.OWNER))
    wait_for_replica_catch_up()
    assert stranger.get("/api/v1/webhooks/").json()["results"] == []
    for method, path in [
        ("GET", f"/api/v1/webhooks/{made['id']}/"),
        ("PATCH", f"/api/v1/webhooks/{made['id']}/"),
        ("DELETE", f"/api/v1/webhooks/{made['id']}/"),
        ("GET", f"/api/v1/webhooks/{made['id']}/deliveries/"),
        ("POST", f"/api/v1/webhooks/{made['id']}/ping/"),
    ]:
        response = stranger.generic(method, path, "{}", content_type="application/json")
        assert response.status_code == 404, (method, path, response.content)
