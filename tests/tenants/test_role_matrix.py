"""The role matrix, walked endpoint by endpoint and role by role: each endpoint answers 403
exactly where the matrix says the role falls short."""

import re

import pytest

from tenants.permissions import ROLE_MATRIX, required_role
from tenants.roles import Role

# (method, path, resource, action); {project}, {member}, {key}, ... are filled per test.
ENDPOINTS = [
    ("GET", "/api/v1/me/", "me", "read"),
    ("GET", "/api/v1/tenant/", "tenant", "read"),
    ("PATCH", "/api/v1/tenant/", "tenant", "write"),
    ("GET", "/api/v1/tenant/usage/", "usage", "read"),
    ("GET", "/api/v1/audit/", "audit", "read"),
    ("GET", "/api/v1/jobs/", "jobs", "read"),
    ("GET", "/api/v1/webhooks/", "webhooks", "read"),
    ("POST", "/api/v1/webhooks/", "webhooks", "write"),
    ("GET", "/api/v1/webhooks/{webhook}/", "webhooks", "read"),
    ("PATCH", "/api/v1/webhooks/{webhook}/", "webhooks", "write"),
    ("DELETE", "/api/v1/webhooks/{webhook}/", "webhooks", "write"),
    ("GET", "/api/v1/webhooks/{webhook}/deliveries/", "webhooks", "read"),
    ("POST", "/api/v1/webhooks/{webhook}/ping/", "webhooks", "write"),
    ("GET", "/api/v1/projects/", "projects", "read"),
    ("POST", "/api/v1/projects/", "projects", "write"),
    ("GET", "/api/v1/projects/{project}/", "projects", "read"),
    ("PATCH", "/api/v1/projects/{project}/", "projects", "write"),
    ("DELETE", "/api/v1/projects/{project}/", "projects", "write"),
    ("GET", "/api/v1/members/", "members", "read"),
    ("POST", "/api/v1/members/", "members", "write"),
    ("PATCH", "/api/v1/members/{member}/", "members", "write"),
    ("DELETE", "/api/v1/members/{member}/", "members", "write"),
    ("GET", "/api/v1/api-keys/", "api_keys", "read"),
    ("POST", "/api/v1/api-keys/", "api_keys", "write"),
    ("DELETE", "/api/v1/api-keys/{key}/", "api_keys", "write"),
    ("GET", "/api/v1/datasets/", "datasets", "read"),
    ("POST", "/api/v1/datasets/", "datasets", "write"),
    ("GET", "/api/v1/datasets/{dataset}/", "datasets", "read"),
    ("DELETE", "/api/v1/datasets/{dataset}/", "datasets", "write"),
    ("GET", "/api/v1/datasets/{dataset}/rows/", "datasets", "read"),
    ("GET", "/api/v1/datasets/{dataset}/imports/", "datasets", "read"),
    ("POST", "/api/v1/datasets/{dataset}/imports/", "datasets", "write"),
    ("GET", "/api/v1/datasets/{dataset}/export?format=jsonl", "datasets", "read"),
    ("GET", "/api/v1/rows/{row}/", "datasets", "read"),
    ("PATCH", "/api/v1/rows/{row}/", "datasets", "write"),
    ("DELETE", "/api/v1/rows/{row}/", "datasets", "write"),
    ("GET", "/api/v1/rows/{row}/annotations/", "datasets", "read"),
    ("POST", "/api/v1/rows/{row}/annotations/", "datasets", "write"),
    ("PUT", "/api/v1/annotations/{annotation}/", "datasets", "write"),
    ("DELETE", "/api/v1/annotations/{annotation}/", "datasets", "write"),
    ("GET", "/api/v1/imports/{job}/", "datasets", "read"),
    ("GET", "/api/v1/imports/{job}/events/", "datasets", "read"),
    ("POST", "/api/v1/search/", "search", "read"),
    ("POST", "/api/v1/search/count/", "search", "read"),
    ("POST", "/api/v1/search/facets/", "search", "read"),
    ("GET", "/api/v1/search/fields/", "search", "read"),
    ("GET", "/api/v1/slices/", "slices", "read"),
    ("POST", "/api/v1/slices/", "slices", "write"),
    ("GET", "/api/v1/slices/{slice}/", "slices", "read"),
    ("PATCH", "/api/v1/slices/{slice}/", "slices", "write"),
    ("DELETE", "/api/v1/slices/{slice}/", "slices", "write"),
    ("GET", "/api/v1/slices/{slice}/rows/", "slices", "read"),
    ("GET", "/api/v1/slices/{slice}/count/", "slices", "read"),
    ("GET", "/api/v1/slices/{slice}/snapshots/", "slices", "read"),
    ("POST", "/api/v1/slices/{slice}/snapshots/", "slices", "write"),
    ("GET", "/api/v1/slices/{slice}/snapshots/{snapshot}/", "slices", "read"),
    ("GET", "/api/v1/slices/{slice}/snapshots/{snapshot}/rows/", "slices", "read"),
    ("GET", "/api/v1/model-specs/", "training", "read"),
    ("GET", "/api/v1/training-runs/", "training", "read"),
    ("POST", "/api/v1/training-runs/", "training", "write"),
    ("GET", "/api/v1/training-runs/{run}/", "training", "read"),
    ("POST", "/api/v1/training-runs/{run}/cancel/", "training", "write"),
    ("GET", "/api/v1/training-runs/{run}/events/", "training", "read"),
    ("GET", "/api/v1/training-runs/{run}/metrics/", "training", "read"),
    ("GET", "/api/v1/experiments/{experiment}/compare/", "training", "read"),
    ("GET", "/api/v1/models/", "models", "read"),
    ("GET", "/api/v1/models/{model}/", "models", "read"),
    ("GET", "/api/v1/models/{model}/versions/", "models", "read"),
    ("GET", "/api/v1/model-versions/{version}/", "models", "read"),
    ("GET", "/api/v1/models/{model}/compare/?slice={slice}&snapshot=1", "models", "read"),
    ("GET", "/api/v1/rows/{row}/predictions/", "predictions", "read"),
    ("GET", "/api/v1/inference-runs/", "predictions", "read"),
    ("POST", "/api/v1/inference-runs/", "predictions", "write"),
    ("GET", "/api/v1/inference-runs/{inference}/", "predictions", "read"),
    ("POST", "/api/v1/inference-runs/{inference}/cancel/", "predictions", "write"),
    ("GET", "/api/v1/inference-runs/{inference}/events/", "predictions", "read"),
    ("GET", "/api/v1/evaluations/", "predictions", "read"),
    ("POST", "/api/v1/evaluations/", "predictions", "write"),
    ("GET", "/api/v1/evaluations/{evaluation}/", "predictions", "read"),
    ("GET", "/api/v1/evaluations/{evaluation}/events/", "predictions", "read"),
    ("POST", "/api/v1/prediction-imports/", "predictions", "write"),
    ("GET", "/api/v1/prediction-imports/{prediction_import}/", "predictions", "read"),
    (
        "GET",
        "/api/v1/model-versions/{version}/predictions/export?format=jsonl",
        "predictions",
        "read",
    ),
]
# Endpoints that need no identity: the API root and trading a key for a session.
OPEN_ENDPOINTS = {"/api/v1/", "/api/v1/session/"}
WRITE_ENDPOINTS = [e for e in ENDPOINTS if e[3] == "write"]


def test_every_endpoint_is_in_the_matrix():
    assert {(resource, action) for *_, resource, action in ENDPOINTS} <= set(ROLE_MATRIX)


def _api_paths() -> set[str]:
    from django.urls import get_resolver

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if hasattr(pattern, "url_patterns"):
                yield from walk(pattern.url_patterns, route)
            else:
                yield "/" + re.sub(r"<(?:\w+:)?(\w+)>", "{}", route)

    return set(walk(get_resolver("loupe.urls_api").url_patterns))


def test_the_walk_covers_every_api_endpoint():
    walked = {re.sub(r"\{\w+\}", "{}", path.split("?")[0]) for _, path, *_ in ENDPOINTS}
    assert _api_paths() - OPEN_ENDPOINTS == walked


@pytest.fixture
def targets(tenant, make_member, client_for):
    from django_tenants.utils import tenant_context

    from apps.datasets.models import Annotation, DataRow, Dataset, ImportJob
    from apps.predictions.models import Evaluation, InferenceRun, PredictionImport
    from apps.projects.models import Project
    from apps.slices.models import Slice, SliceSnapshot
    from apps.training.models import Model, ModelVersion, TrainingRun
    from apps.webhooks.models import Webhook
    from tenants.identity.api_keys import create_api_key

    owner = tenant.memberships.get(role=Role.OWNER).user
    with tenant_context(tenant):
        project = Project.objects.create(name="target")
        dataset = Dataset.objects.create(project=project, name="target")
        row = DataRow.objects.create(dataset=dataset, external_id="target", media_uri="m")
        annotation = Annotation.objects.create(data_row=row, class_name="car", geometry_type="none")
        job = ImportJob.objects.create(
            dataset=dataset, format="jsonl", file_name="x", status="failed"
        )
        slice = Slice.objects.create(dataset=dataset, name="target", query="width > 1")
        snapshot = SliceSnapshot.objects.create(slice=slice, number=1, row_count=0)
        run = TrainingRun.objects.create(
            name="target", spec="small_cnn", slice=slice, snapshot=snapshot,
            model_name="target", experiment="target", status="failed",
        )  # fmt: skip
        model = Model.objects.create(name="target", task="classification")
        version = ModelVersion.objects.create(
            model=model, version=1, spec="small_cnn", training_run=run, snapshot=snapshot
        )
        done = {"model_version": version, "slice": slice, "snapshot": snapshot, "status": "failed"}
        inference = InferenceRun.objects.create(**done, chunk_size=1, batch_size=1)
        evaluation = Evaluation.objects.create(**done, task="classification")
        prediction_import = PredictionImport.objects.create(
            dataset=dataset, model_version=version, format="jsonl", file_name="x", status="failed"
        )
        # Paused: a ping is refused (409), so none is sent anywhere.
        webhook = Webhook.objects.create(
            url="http://203.0.113.9/", events=["job.failed"], secret="s", active=False
        )
    member = make_member(tenant, Role.VIEWER)
    key, _ = create_api_key(tenant=tenant, name="target", role=Role.VIEWER, actor=owner)
    return {
        "project": project.pk,
        "member": member.memberships.get().pk,
        "key": key.pk,
        "dataset": dataset.pk,
        "row": row.pk,
        "annotation": annotation.pk,
        "job": job.pk,
        "slice": slice.pk,
        "snapshot": snapshot.number,
        "run": run.pk,
        "experiment": run.experiment,
        "model": model.name,
        "version": version.pk,
        "inference": inference.pk,
        "evaluation": evaluation.pk,
        "prediction_import": prediction_import.pk,
        "webhook": webhook.pk,
    }


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(("method", "path", "resource", "action"), ENDPOINTS)
def test_endpoint_answers_403_exactly_below_the_required_role(
    tenant, make_member, client_for, targets, role, method, path, resource, action
):
    client = client_for(tenant, make_member(tenant, role))
    response = client.generic(method, path.format(**targets), "{}", content_type="application/json")
    if role.at_least(required_role(resource, action)):
        # Allowed: done, or refused for the empty body; never 403, 404 or 500.
        assert response.status_code in (200, 201, 202, 204, 400, 409), response.content
    else:
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize(("method", "path", "resource", "action"), WRITE_ENDPOINTS)
def test_viewer_is_refused_every_write_endpoint(
    tenant, make_member, client_for, targets, method, path, resource, action
):
    client = client_for(tenant, make_member(tenant, Role.VIEWER))
    response = client.generic(method, path.format(**targets), "{}", content_type="application/json")
    assert response.status_code == 403


def test_anonymous_requests_answer_401_with_a_bearer_challenge(tenant, client_for):
    response = client_for(tenant).get("/api/v1/projects/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")
