"""The audit log: each recorded action, done through the API or an admin, writes one entry
saying who, what, when and from where, in the action's transaction; admins read their own
tenant's entries at /api/v1/audit/ and in the tenant admin, read-only."""

import json
import uuid
from contextlib import contextmanager
from ipaddress import ip_network

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from apps.datasets.models import DataRow, Dataset
from apps.projects.models import Project
from apps.slices.models import Slice, SliceSnapshot
from apps.training.models import TrainingRun
from tenants.identity.api_keys import create_api_key
from tenants.models import User
from tenants.roles import Role
from tests.conftest import host_of
from tests.support.admin_forms import posted_form
from tests.support.database import wait_for_replica_catch_up

AUDIT = "/api/v1/audit/"
PEER = "203.0.113.5"


@pytest.fixture
def admin(tenant, make_member) -> User:
    return make_member(tenant, Role.ADMIN)


@pytest.fixture
def admin_client(tenant, admin, client_for) -> Client:
    return client_for(tenant, admin, reads_others=True)


def _log(client: Client, **params) -> list[dict]:
    response = client.get(AUDIT, params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


@contextmanager
def _new_entries(client: Client):
    """The entries the block adds to the log, as `client` lists them (newest first), filled
    in when the block ends."""
    before = {entry["id"] for entry in _log(client)}
    entries: list[dict] = []
    yield entries
    entries += [entry for entry in _log(client) if entry["id"] not in before]


def _email() -> str:
    return f"audited-{uuid.uuid4().hex[:8]}@example.com"


def _json(client: Client, method: str, path: str, body: dict | None = None, **extra):
    data = "" if body is None else json.dumps(body)
    return client.generic(method, path, data, content_type="application/json", **extra)


def _done(response, status: int = 204):
    assert response.status_code == status, response.content
    return response


def _dataset_with_rows(tenant, name: str, rows: int, project: Project | None = None) -> Dataset:
    with tenant_context(tenant):
        project = project or Project.objects.create(name=f"project-{uuid.uuid4().hex[:8]}")
        dataset = Dataset.objects.create(project=project, name=name)
        DataRow.objects.bulk_create(
            DataRow(dataset=dataset, external_id=f"r{n}", media_uri="m") for n in range(rows)
        )
    return dataset


def _trained_on(tenant, dataset: Dataset) -> None:
    """A training run on a slice of the dataset: it protects the dataset from deletion."""
    with tenant_context(tenant):
        slice = Slice.objects.create(dataset=dataset, name="s", query="width > 1")
        snapshot = SliceSnapshot.objects.create(slice=slice, number=1, row_count=0)
        TrainingRun.objects.create(
            name="r", spec="small_cnn", slice=slice, snapshot=snapshot, model_name="m",
            status="failed",
        )  # fmt: skip


# Each case prepares, then does one action as `client` from PEER inside `recording`, and
# gives what it recorded with the entry it expects: (action, target type, target id, detail).


def _invite(tenant, client, make_member, recording):
    email = _email()
    body = {"email": email, "role": "editor"}
    with recording as entries:
        done = _done(_json(client, "POST", "/api/v1/members/", body, REMOTE_ADDR=PEER), 201)
    return entries, ("member.invited", "member", done.json()["id"], f"{email} as editor")


def _change_role(tenant, client, make_member, recording):
    member = make_member(tenant, Role.EDITOR).memberships.get()
    path = f"/api/v1/members/{member.pk}/"
    with recording as entries:
        _done(_json(client, "PATCH", path, {"role": "admin"}, REMOTE_ADDR=PEER), 200)
    detail = f"{member.user.email}: editor → admin"
    return entries, ("member.role_changed", "member", member.pk, detail)


def _remove(tenant, client, make_member, recording):
    member = make_member(tenant, Role.VIEWER).memberships.get()
    with recording as entries:
        _done(_json(client, "DELETE", f"/api/v1/members/{member.pk}/", REMOTE_ADDR=PEER))
    return entries, ("member.removed", "member", member.pk, f"{member.user.email} (viewer)")


def _create_key(tenant, client, make_member, recording):
    body = {"name": "ci", "role": "editor"}
    with recording as entries:
        response = _json(client, "POST", "/api/v1/api-keys/", body, REMOTE_ADDR=PEER)
    key = _done(response, 201).json()
    return entries, ("api_key.created", "api_key", key["id"], f"ci ({key['prefix']}…) as editor")


def _revoke_key(tenant, client, make_member, recording):
    owner = tenant.memberships.get(role=Role.OWNER).user
    key, _ = create_api_key(tenant=tenant, name="old", role=Role.VIEWER, actor=owner)
    with recording as entries:
        _done(_json(client, "DELETE", f"/api/v1/api-keys/{key.pk}/", REMOTE_ADDR=PEER))
    return entries, ("api_key.revoked", "api_key", key.pk, f"old ({key.prefix}…)")


def _delete_dataset(tenant, client, make_member, recording):
    dataset = _dataset_with_rows(tenant, "frames", rows=3)
    with recording as entries:
        _done(_json(client, "DELETE", f"/api/v1/datasets/{dataset.pk}/", REMOTE_ADDR=PEER))
    return entries, ("dataset.deleted", "dataset", dataset.pk, "frames (3 rows)")


@pytest.mark.parametrize(
    "act",
    [_invite, _change_role, _remove, _create_key, _revoke_key, _delete_dataset],
    ids=lambda act: act.__name__.strip("_"),
)
def test_an_action_through_the_api_records_one_entry_of_who_what_and_where(
    tenant, admin, admin_client, make_member, act
):
    entries, (action, target_type, target_id, detail) = act(
        tenant, admin_client, make_member, _new_entries(admin_client)
    )

    assert len(entries) == 1, entries
    (entry,) = entries
    assert entry["action"] == action
    assert entry["target"] == {"type": target_type, "id": target_id}
    assert entry["detail"] == detail
    assert entry["actor"] == {
        "kind": "user", "user_id": admin.pk, "email": admin.email,
        "api_key_id": None, "api_key_name": "",
    }  # fmt: skip
    assert entry["client_address"] == PEER


def test_deleting_a_project_records_it_and_each_dataset_it_takes(tenant, admin_client):
    with tenant_context(tenant):
        project = Project.objects.create(name="drive")
    day = _dataset_with_rows(tenant, "day", rows=2, project=project)
    night = _dataset_with_rows(tenant, "night", rows=1, project=project)

    with _new_entries(admin_client) as entries:
        _done(admin_client.delete(f"/api/v1/projects/{project.pk}/"))

    assert [(e["action"], e["target"]["id"], e["detail"]) for e in entries] == [
        ("project.deleted", project.pk, "drive (2 datasets, 3 rows)"),
        ("dataset.deleted", night.pk, "night (1 row), with project drive"),
        ("dataset.deleted", day.pk, "day (2 rows), with project drive"),
    ]


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "recorded"),
    [
        ("10.0.0.7", "198.51.100.9", "198.51.100.9"),  # through a trusted proxy: the client
        ("10.0.0.7", "198.51.100.9, 10.0.0.3", "198.51.100.9"),  # past two trusted hops
        (PEER, "198.51.100.9", PEER),  # a client's own header counts for nothing
    ],
    ids=["trusted-proxy", "two-trusted-hops", "untrusted-peer"],
)
def test_from_where_is_the_client_as_trusted_proxies_settle_it(
    settings, admin_client, peer, forwarded_for, recorded
):
    settings.TRUSTED_PROXIES = [ip_network("10.0.0.0/8")]
    body = {"email": _email(), "role": "viewer"}
    through = {"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": forwarded_for}

    with _new_entries(admin_client) as entries:
        _done(_json(admin_client, "POST", "/api/v1/members/", body, **through), 201)

    assert [entry["client_address"] for entry in entries] == [recorded]


def test_an_api_keys_session_is_recorded_as_the_key_not_its_maker(tenant, admin_client):
    key = _done(
        _json(admin_client, "POST", "/api/v1/api-keys/", {"name": "bot", "role": "admin"}), 201
    ).json()
    traded = Client(HTTP_HOST=host_of(tenant)).post("/api/v1/session/", HTTP_X_API_KEY=key["key"])
    session = Client(
        HTTP_HOST=host_of(tenant),
        HTTP_AUTHORIZATION=f"Bearer {_done(traded, 201).json()['session_token']}",
    )
    body = {"email": _email(), "role": "viewer"}

    with _new_entries(session) as entries:
        _done(_json(session, "POST", "/api/v1/members/", body), 201)

    assert [entry["actor"] for entry in entries] == [
        {"kind": "api_key", "user_id": None, "email": "", "api_key_id": key["id"],
         "api_key_name": "bot"}
    ]  # fmt: skip


def test_removing_a_member_records_the_revocation_of_each_key_they_made(
    tenant, make_member, client_for
):
    leaving = make_member(tenant, Role.ADMIN)
    body = {"name": "theirs", "role": "viewer"}
    key = _done(_json(client_for(tenant, leaving), "POST", "/api/v1/api-keys/", body), 201).json()
    owner = client_for(tenant, tenant.memberships.get(role=Role.OWNER).user, reads_others=True)
    membership = leaving.memberships.get()

    with _new_entries(owner) as entries:
        _done(owner.delete(f"/api/v1/members/{membership.pk}/"))

    assert [(e["action"], e["target"]["id"]) for e in entries] == [
        ("member.removed", membership.pk),
        ("api_key.revoked", key["id"]),
    ]


def _operators_client() -> Client:
    operator = User.objects.create_superuser(_email(), "pw")
    client = Client(HTTP_HOST="localhost", REMOTE_ADDR=PEER)
    client.force_login(operator)
    wait_for_replica_catch_up()
    return client


def test_an_operators_deactivation_and_activation_are_in_the_tenants_own_log(tenant, admin_client):
    operator = _operators_client()
    selected = {"action": "deactivate", "_selected_action": [str(tenant.pk)], "index": "0"}
    change = f"/admin/tenants/tenant/{tenant.pk}/change/"

    with _new_entries(admin_client) as entries:
        _done(operator.post("/admin/tenants/tenant/", selected), 302)  # the action
        page = _done(operator.get(change), 200).content.decode()
        _done(operator.post(change, posted_form(page, "tenant_form", is_active="on")), 302)

    assert [(e["action"], e["target"], e["actor"], e["client_address"]) for e in entries] == [
        (action, {"type": "tenant", "id": tenant.pk},
         {"kind": "operator", "user_id": None, "email": "", "api_key_id": None,
          "api_key_name": ""},
         PEER)
        for action in ("tenant.activated", "tenant.deactivated")
    ]  # fmt: skip


# Each refused case: an action an admin (`clients["admin"]`) or the owner may not do, and
# the status that refuses it.


def _admin_grants_owner(tenant, clients):
    member = tenant.memberships.create(user=User.objects.create_user(_email()), role=Role.VIEWER)
    path = f"/api/v1/members/{member.pk}/"
    return _json(clients["admin"], "PATCH", path, {"role": "owner"}), 403


def _admin_invites_a_member_again(tenant, clients):
    body = {"email": tenant.memberships.get(role=Role.OWNER).user.email, "role": "viewer"}
    return _json(clients["admin"], "POST", "/api/v1/members/", body), 409


def _the_last_owner_removes_themself(tenant, clients):
    owner = tenant.memberships.get(role=Role.OWNER)
    return clients["owner"].delete(f"/api/v1/members/{owner.pk}/"), 409


# Refused after their entries are written (a training run protects the rows): they roll back.
def _admin_deletes_a_dataset_in_use(tenant, clients):
    dataset = _dataset_with_rows(tenant, "in-use", rows=2)
    _trained_on(tenant, dataset)
    return clients["admin"].delete(f"/api/v1/datasets/{dataset.pk}/"), 409


def _admin_deletes_a_project_in_use(tenant, clients):
    dataset = _dataset_with_rows(tenant, "in-use", rows=2)
    _trained_on(tenant, dataset)
    return clients["admin"].delete(f"/api/v1/projects/{dataset.project_id}/"), 409


@pytest.mark.parametrize(
    "refuse",
    [
        _admin_grants_owner,
        _admin_invites_a_member_again,
        _the_last_owner_removes_themself,
        _admin_deletes_a_dataset_in_use,
        _admin_deletes_a_project_in_use,
    ],
    ids=lambda refuse: refuse.__name__.strip("_"),
)
def test_a_refused_action_records_nothing(tenant, admin_client, client_for, refuse):
    owner = client_for(tenant, tenant.memberships.get(role=Role.OWNER).user)

    with _new_entries(admin_client) as entries:
        response, status = refuse(tenant, {"admin": admin_client, "owner": owner})

    assert response.status_code == status, response.content
    assert entries == []


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.VIEWER, 403), (Role.EDITOR, 403), (Role.ADMIN, 200), (Role.OWNER, 200)],
)
def test_only_admins_and_owners_read_the_log(tenant, make_member, client_for, role, status):
    response = client_for(tenant, make_member(tenant, role)).get(AUDIT)
    assert response.status_code == status
    if status == 403:
        assert response.json()["code"] == "permission_denied"


def test_another_tenants_entries_are_not_listed(tenant, other_tenant, admin_client, client_for):
    ours, theirs = _email(), _email()
    other_owner = client_for(other_tenant, other_tenant.memberships.get(role=Role.OWNER).user)
    for client, email in ((admin_client, ours), (other_owner, theirs)):
        body = {"email": email, "role": "viewer"}
        _done(_json(client, "POST", "/api/v1/members/", body), 201)

    details = [entry["detail"] for entry in _log(admin_client)]

    assert details == [f"{ours} as viewer"]


def test_the_log_filters_by_action_and_since(admin_client):
    def invite():
        body = {"email": _email(), "role": "viewer"}
        return _done(_json(admin_client, "POST", "/api/v1/members/", body), 201)

    invite()
    _done(_json(admin_client, "POST", "/api/v1/api-keys/", {"name": "k", "role": "viewer"}), 201)
    invite()
    newest_first = _log(admin_client)
    key_entry = newest_first[1]

    invited = _log(admin_client, action="member.invited")
    since = _log(admin_client, since=key_entry["created_at"])

    assert [e["action"] for e in newest_first] == [
        "member.invited", "api_key.created", "member.invited"
    ]  # fmt: skip
    assert [e["id"] for e in invited] == [newest_first[0]["id"], newest_first[2]["id"]]
    assert [e["id"] for e in since] == [newest_first[0]["id"], key_entry["id"]]
    refused = admin_client.get(AUDIT, {"action": "member.vanished"})
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid")


def test_the_tenant_admin_lists_entries_read_only(admin_client):
    email = _email()
    _done(_json(admin_client, "POST", "/api/v1/members/", {"email": email, "role": "viewer"}), 201)
    (entry,) = _log(admin_client)
    page = f"/admin/audit/auditentry/{entry['id']}/change/"

    listing = _done(admin_client.get("/admin/audit/auditentry/"), 200).content.decode()
    shown = _done(admin_client.get(page), 200).content.decode()

    assert f"{email} as viewer" in listing
    assert "delete_selected" not in listing
    assert f"{email} as viewer" in shown
    assert 'name="_save"' not in shown
    assert admin_client.get("/admin/audit/auditentry/add/").status_code == 403
    assert admin_client.post(page, {"detail": "rewritten"}).status_code == 403
    assert admin_client.post(page.replace("change", "delete"), {"post": "yes"}).status_code == 403
    assert [e["detail"] for e in _log(admin_client)] == [f"{email} as viewer"]


def test_deleting_a_project_in_the_tenant_admin_is_recorded(tenant, admin, admin_client):
    with tenant_context(tenant):
        project = Project.objects.create(name="by-hand")
    delete = f"/admin/projects/project/{project.pk}/delete/"

    with _new_entries(admin_client) as entries:
        _done(admin_client.post(delete, {"post": "yes"}, REMOTE_ADDR=PEER), 302)

    assert [
        (e["action"], e["detail"], e["actor"]["email"], e["client_address"]) for e in entries
    ] == [("project.deleted", "by-hand (0 datasets, 0 rows)", admin.email, PEER)]
