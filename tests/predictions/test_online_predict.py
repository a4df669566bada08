"""Online predict, through the real predict server (loupe.serving_asgi under uvicorn) over
HTTP: the answers, the refusals the API would give, the LRU of loaded versions, and the
database left alone on a warm call.

The server runs with PREDICT_CACHE_VERSIONS=2, a small PREDICT_MAX_IMAGE_BYTES, and
PREDICT_REPORT_QUERIES on (its X-Database-Queries header counts each call's queries). Its
tenant, versions and tokens are built once for the module: three logistic-regression
versions trained on demo digits through the API, and versions registered by hand where the
case needs no training (a detector's untrained weights, an imported-only version, broken
artifacts).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass

import httpx
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connections
from django.test import Client
from django_tenants.utils import tenant_context

from apps.datasets.models import DataRow
from apps.predictions.services import EXTERNAL_SPEC
from apps.training.catalog import FASTERRCNN
from apps.training.demo_images import SHAPE_CLASSES, shape_images
from apps.training.models import Model, ModelVersion
from apps.training.runs import local_copy
from tenants.identity.api_keys import create_api_key
from tenants.models import Membership, Tenant, User
from tenants.roles import Role
from tenants.services import create_tenant
from tests.conftest import token_for
from tests.support import processes
from tests.support.database import wait_for_replica_catch_up
from tests.training.conftest import QUICK_LR, import_demo, make_slice, started, wait_for_run
from workers.engines.detection import FasterRCNNMobileNet
from workers.engines.registry import load_engine
from workers.serving.inputs import decode_image

MAX_IMAGE_BYTES = 256 * 1024
LR_MODEL, DETECTOR, BROKEN = "digits-lr", "shapes-detector", "broken"


@dataclass(frozen=True)
class Tenancy:
    tenant: Tenant
    host: str
    session: str  # a viewer API key's session token
    jwt: str  # a viewer member's token


@dataclass(frozen=True)
class World:
    home: Tenancy
    other: Tenancy
    row_id: int  # a digit of home's
    digit: bytes  # that row's stored image


@pytest.fixture(scope="module")
def predict_server(django_db_setup, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("predict-server") / "server.log"
    env = {
        "PREDICT_CACHE_VERSIONS": "2",
        "PREDICT_MAX_IMAGE_BYTES": str(MAX_IMAGE_BYTES),
        "PREDICT_REPORT_QUERIES": "true",
    }
    app = "loupe.serving_asgi:application"
    with (
        processes.asgi_server(log_path, app=app, env=env) as server,
        httpx.Client(base_url=server.url, timeout=120) as http,
    ):
        yield http


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, gpu_worker) -> World:
    with django_db_blocker.unblock():
        home, other = _tenancy(), _tenancy()
        owner = _client(home.tenant, home.tenant.memberships.get(role=Role.OWNER).user)
        import_demo(home.tenant, "--digits", "300", "--shapes", "1")
        digits = next(
            d for d in owner.get("/api/v1/datasets/").json()["results"] if d["name"] == "digits"
        )
        slice_id = make_slice(owner, digits["id"], "digits")["id"]
        runs = [
            started(owner, slice_id, "logistic_regression", model=LR_MODEL, **QUICK_LR)
            for _ in "123"
        ]
        for run in runs:
            finished = wait_for_run(owner, run["id"])
            assert finished["status"] == "succeeded", finished["error"]
        with tenant_context(home.tenant):
            row = DataRow.objects.filter(dataset_id=digits["id"]).order_by("id").first()
            _register_detector()
            _register_broken_versions(home.tenant.schema_name)
        with default_storage.open(row.media_uri, "rb") as stored:
            digit = stored.read()
        wait_for_replica_catch_up()
        yield World(home=home, other=other, row_id=row.pk, digit=digit)
        _back_to_public()


def _back_to_public() -> None:
    """An in-process API call leaves its tenant active, as live_db undoes after a test."""
    for alias in connections:
        connections[alias].set_schema_to_public()


def _tenancy() -> Tenancy:
    slug = f"op{uuid.uuid4().hex[:8]}"
    tenant = create_tenant(
        slug=slug, name=slug, domain=f"{slug}.localhost", owner_email=f"owner-{slug}@example.com"
    )
    owner = tenant.memberships.get(role=Role.OWNER).user
    _, secret = create_api_key(tenant=tenant, name="predict", role=Role.VIEWER, actor=owner)
    viewer = User.objects.create_user(f"viewer-{slug}@example.com")
    Membership.objects.create(user=viewer, tenant=tenant, role=Role.VIEWER)
    host = f"{slug}.localhost"
    traded = Client(HTTP_HOST=host).post("/api/v1/session/", HTTP_X_API_KEY=secret)
    assert traded.status_code == 201, traded.content
    _back_to_public()
    return Tenancy(tenant, host, traded.json()["session_token"], token_for(tenant, viewer))


def _client(tenant: Tenant, user: User) -> Client:
    client = Client(
        HTTP_HOST=f"{tenant.slug}.localhost",
        HTTP_AUTHORIZATION=f"Bearer {token_for(tenant, user, Role.OWNER)}",
    )
    client.get("/api/v1/me/")  # links the token's subject to the user
    _back_to_public()
    wait_for_replica_catch_up()
    return client


def _register_detector() -> None:
    """Version 1 of a detector with untrained weights and no score threshold, so that it
    answers boxes whatever the image."""
    hyperparameters = FASTERRCNN.defaults() | {"image_size": 64, "score_threshold": 0.0}
    engine = FasterRCNNMobileNet(hyperparameters=hyperparameters, classes=list(SHAPE_CLASSES))
    with tempfile.NamedTemporaryFile(suffix=".pt") as local:
        engine.save(local.name)
        with open(local.name, "rb") as saved:
            artifact = _store("detector.pt", saved.read())
    model = Model.objects.create(name=DETECTOR, task="detection")
    ModelVersion.objects.create(
        model=model,
        version=1,
        spec=engine.spec_name,
        classes=engine.classes,
        hyperparameters=hyperparameters,
        artifact=artifact,
    )


def _register_broken_versions(schema: str) -> None:
    """1: imported from a file of predictions; 2: its artifact missing; 3: not a model."""
    model = Model.objects.create(name=BROKEN, task="classification")
    for number, spec, artifact in [
        (1, EXTERNAL_SPEC, ""),
        (2, "logistic_regression", f"{schema}/online-predict/missing.pt"),
        (3, "logistic_regression", _store("garbage.pt", b"not a model")),
    ]:
        ModelVersion.objects.create(
            model=model, version=number, spec=spec, classes=["0", "1"], artifact=artifact
        )


def _store(name: str, data: bytes) -> str:
    schema = connections["default"].schema_name
    return default_storage.save(f"{schema}/online-predict/{name}", ContentFile(data))


def predict(http, tenancy: Tenancy, model: str = LR_MODEL, version: int = 1, **request):
    """A predict call on the tenancy's host, with its session token unless `token` says."""
    token = request.pop("token", tenancy.session)
    headers = {"Host": tenancy.host} | ({"Authorization": f"Bearer {token}"} if token else {})
    return http.post(
        f"/api/v1/models/{model}/versions/{version}/predict/", headers=headers, **request
    )


def upload(image: bytes) -> dict:
    return {"files": {"image": ("image.png", image, "image/png")}}


def engine_predictions(model: str, version: int, tenant: Tenant, image: bytes) -> list[dict]:
    """What the version's own engine, loaded from its artifact here, predicts for the image,
    in the endpoint's shape."""
    with tenant_context(tenant):
        stored = ModelVersion.objects.get(model__name=model, version=version)
    with local_copy(stored.artifact) as path:
        engine = load_engine(stored.spec, path)
    found = engine.predict([decode_image(image)])[0]
    return [
        {"class": p.class_name, "score": pytest.approx(p.score, rel=1e-5, abs=1e-6)}
        | ({"bbox": pytest.approx(dict(zip("xywh", p.bbox, strict=True)))} if p.bbox else {})
        for p in found
    ]


def _refusal(response) -> tuple:
    body = response.json()
    return response.status_code, body["code"], body["detail"]


# --- answers ---------------------------------------------------------------------------


def test_an_uploaded_image_gets_what_the_engine_itself_predicts(predict_server, world):
    response = predict(predict_server, world.home, **upload(world.digit))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["model"], body["version"]) == (LR_MODEL, 1)
    assert body["timing"]["forward_ms"] > 0
    expected = engine_predictions(LR_MODEL, 1, world.home.tenant, world.digit)
    assert body["predictions"] == expected


@pytest.mark.parametrize(
    "send",
    [
        lambda row: {"json": {"row": row}},
        lambda row: {"data": {"row": str(row)}},
        lambda row: {"data": {"row": str(row)}, "files": {"other": ("x.txt", b"x")}},
    ],
    ids=["json", "form", "multipart"],
)
def test_a_row_predicts_as_its_own_image_uploaded(predict_server, world, send):
    by_row = predict(predict_server, world.home, **send(world.row_id))
    by_upload = predict(predict_server, world.home, **upload(world.digit))
    assert by_row.status_code == 200, by_row.text
    assert by_row.json()["predictions"] == by_upload.json()["predictions"]


def test_a_detector_answers_boxes_in_the_images_pixels_as_annotations_hold_them(
    predict_server, world
):
    image = next(shape_images(1)).png
    response = predict(predict_server, world.home, DETECTOR, **upload(image))
    assert response.status_code == 200, response.text
    found = response.json()["predictions"]
    assert found and all(set(p["bbox"]) == {"x", "y", "w", "h"} for p in found)
    assert found == engine_predictions(DETECTOR, 1, world.home.tenant, image)


# --- authentication and the database ---------------------------------------------------


def test_a_warm_session_token_call_makes_no_database_query(predict_server, world):
    first = predict(predict_server, world.home, **upload(world.digit))
    warm = predict(predict_server, world.home, **upload(world.digit))
    assert (first.status_code, warm.status_code) == (200, 200)
    assert warm.headers["X-Database-Queries"] == "0"


def test_a_jwt_predicts_reading_the_membership_from_the_database(predict_server, world):
    predict(predict_server, world.home, **upload(world.digit))  # the version is loaded
    response = predict(predict_server, world.home, token=world.home.jwt, **upload(world.digit))
    assert response.status_code == 200, response.text
    # The count is live: the JWT path reads the tenant, user and membership.
    assert int(response.headers["X-Database-Queries"]) > 0


@pytest.mark.parametrize(
    "token",
    [
        lambda world: world.other.session,
        lambda world: world.other.jwt,
        lambda world: "ls_no-such-session",
        lambda world: "not.a.jwt",
        lambda world: None,
    ],
    ids=["other-tenants-session", "other-tenants-jwt", "unknown-session", "bad-jwt", "none"],
)
def test_a_refused_token_is_refused_as_the_api_refuses_it(predict_server, world, live_db, token):
    token = token(world)
    response = predict(predict_server, world.home, token=token, **upload(world.digit))
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    api = Client(HTTP_HOST=world.home.host).get("/api/v1/me/", **headers)
    assert response.status_code in (401, 403)
    assert _refusal(response) == _refusal(api)
    assert response.headers.get("WWW-Authenticate") == api.headers.get("WWW-Authenticate")


# --- refusals --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "version", "code"),
    [("no-such-model", 1, "unknown_model"), (LR_MODEL, 99, "unknown_model_version")],
)
def test_an_unknown_model_or_version_is_404(predict_server, world, model, version, code):
    response = predict(predict_server, world.home, model, version, **upload(world.digit))
    assert (response.status_code, response.json()["code"]) == (404, code)


@pytest.mark.parametrize(
    ("request_fields", "code"),
    [
        ({"files": {"image": ("image.png", b"not an image", "image/png")}}, "not_an_image"),
        ({"json": {}}, "image_or_row_required"),
        ({}, "image_or_row_required"),
        (
            {"data": {"row": "1"}, "files": {"image": ("i.png", b"x", "image/png")}},
            "image_or_row_required",
        ),
        ({"json": {"row": 2**40}}, "unknown_row"),
        ({"json": {"row": "seven"}}, "invalid"),
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, "parse_error"),
    ],
    ids=["not-an-image", "neither", "empty", "both", "unknown-row", "bad-row", "bad-json"],
)
def test_a_body_that_is_not_one_image_or_row_is_400(predict_server, world, request_fields, code):
    fields = dict(request_fields)
    headers = {"Host": world.home.host, "Authorization": f"Bearer {world.home.session}"}
    headers |= fields.pop("headers", {})
    response = predict_server.post(
        f"/api/v1/models/{LR_MODEL}/versions/1/predict/", headers=headers, **fields
    )
    assert (response.status_code, response.json()["code"]) == (400, code), response.text


@pytest.mark.parametrize("size", [MAX_IMAGE_BYTES + 1, 2 * MAX_IMAGE_BYTES], ids=["part", "body"])
def test_an_image_past_the_limit_is_413(predict_server, world, size):
    response = predict(predict_server, world.home, **upload(b"\x89PNG" + b"\0" * (size - 4)))
    assert (response.status_code, response.json()["code"]) == (413, "image_too_large")


def test_a_version_imported_from_predictions_is_409(predict_server, world):
    response = predict(predict_server, world.home, BROKEN, 1, **upload(world.digit))
    assert (response.status_code, response.json()["code"]) == (409, "version_not_runnable")


@pytest.mark.parametrize("version", [2, 3], ids=["missing", "not-a-model"])
def test_a_version_whose_artifact_will_not_load_is_500_and_the_server_carries_on(
    predict_server, world, version
):
    response = predict(predict_server, world.home, BROKEN, version, **upload(world.digit))
    assert (response.status_code, response.json()["code"]) == (500, "artifact_unloadable")
    assert response.json()["error_id"] == response.headers["X-Request-ID"]
    assert predict(predict_server, world.home, **upload(world.digit)).status_code == 200


# --- the cache of loaded versions ------------------------------------------------------


def test_the_least_recently_used_version_is_evicted_past_the_cache_size(predict_server, world):
    def loaded(version: int) -> bool:
        response = predict(predict_server, world.home, LR_MODEL, version, **upload(world.digit))
        assert response.status_code == 200, response.text
        return "load_ms" in response.json()["timing"]

    loaded(2), loaded(1)  # the two the cache holds, 1 the most recent
    assert [loaded(3), loaded(1), loaded(2)] == [True, False, True]


# --- which process serves it -----------------------------------------------------------


def test_the_api_port_tells_a_predict_call_where_the_predict_server_is(world, live_db):
    path = f"/api/v1/models/{LR_MODEL}/versions/1/predict/"
    response = Client(HTTP_HOST=world.home.host).post(path)
    assert (response.status_code, response.json()["code"]) == (421, "served_by_predict_server")
    assert f"{world.home.host}:{settings.SERVING_PORT}{path}" in response.json()["detail"]


def test_the_web_process_never_imports_torch():
    loads = (
        "import sys, loupe.asgi; from django.urls import get_resolver; "
        "[get_resolver(u).url_patterns for u in ('loupe.urls_tenant', 'loupe.urls_public')]; "
        "print('torch' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", loads],
        cwd=processes.ROOT,
        env=processes.process_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == "False"
