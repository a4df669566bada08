"""POST /api/v1/search/facets/: the same counts from both backends, for the scene and beside
it a dataset of awkward metadata, several cars on one row, and predictions of two models."""

from __future__ import annotations

import pytest
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from apps.datasets.models import DataRow
from apps.predictions.models import Prediction
from apps.training.models import Model, ModelVersion
from search.client import elasticsearch_client
from search.indexes import alias_name
from tenants.roles import Role
from tests.datasets.conftest import jsonl, upload, wait_for_job
from tests.search.conftest import wait_until_indexed
from tests.slices.conftest import SCENE_SIZE

BACKENDS = ["elasticsearch", "postgres"]
FACETS = "/api/v1/search/facets/"


def _odd_row(i: int, metadata: dict, tags: list[str], classes: list[str]) -> dict:
    return {
        "external_id": f"odd-{i}",
        "media_uri": f"s3://bucket/odd-{i}.jpg",
        "width": 640,
        "height": 480,
        "metadata": metadata,
        "tags": tags,
        "annotations": [{"class": c, "bbox": [0, 0, 10, 10]} for c in classes],
    }


# What `metadata.camera` holds here, and what it counts: one row's array twice "front" (one
# row, two values), 5 and 5.0 (the same number), true, and values that are not counted: null,
# an object, an array in an array, a key missing, a string longer than the index holds.
ODD_ROWS = [
    _odd_row(0, {"camera": ["front", "front", "rear"]}, ["night"], ["car", "car", "car"]),
    _odd_row(1, {"camera": 5}, ["night"], ["person"]),
    _odd_row(2, {"camera": 5.0}, [], []),
    _odd_row(3, {"camera": True}, [], []),
    _odd_row(4, {"camera": None}, [], []),
    _odd_row(5, {"camera": {"position": "front"}}, [], []),
    _odd_row(6, {}, [], []),
    _odd_row(7, {"camera": [["side"]]}, [], []),
    _odd_row(8, {"camera": "x" * 9000}, [], []),
    _odd_row(9, {"camera": [{"position": "rear"}, 2.5]}, [], []),
]
ALL_ROWS = SCENE_SIZE + len(ODD_ROWS)

# (row, model, version, class): det predicts two cars on img-000, a car on each of the next
# nine rows and, in version 2, a bus on the first five; cls a car and a truck.
PREDICTIONS = [
    ("img-000", "det", 1, "car"),
    *[(f"img-{i:03d}", "det", 1, "car") for i in range(10)],
    *[(f"img-{i:03d}", "det", 2, "bus") for i in range(5)],
    ("img-001", "cls", 1, "car"),
    ("img-010", "cls", 1, "truck"),
]


def _store_predictions() -> None:
    """Inside the tenant: PREDICTIONS (the outbox triggers send them to the index)."""
    versions = {}
    for name, number in {(m, v) for _, m, v, _ in PREDICTIONS}:
        model, _ = Model.objects.get_or_create(name=name, defaults={"task": "detection"})
        versions[name, number] = ModelVersion.objects.create(
            model=model, version=number, spec="test", artifact=f"{name}/{number}"
        )
    ids = dict(DataRow.objects.using("default").values_list("external_id", "pk"))
    Prediction.objects.bulk_create(
        Prediction(
            data_row_id=ids[external_id],
            model_version=versions[name, number],
            class_name=class_name,
            score=0.9,
            rank=0,
        )
        for external_id, name, number, class_name in PREDICTIONS
    )


@pytest.fixture
def rows(tenant, editor, scene, run_import) -> dict:
    """The scene, the odd dataset beside it and the predictions, all indexed: the datasets'
    ids by name."""
    odd = post(editor, "/api/v1/datasets/", {"project": scene["project"], "name": "odd"})
    assert odd.status_code == 201, odd.content
    assert run_import(odd.json()["id"], jsonl(ODD_ROWS))["created"] == len(ODD_ROWS)
    with tenant_context(tenant):
        _store_predictions()
    wait_until_indexed(tenant)
    return {"frames": scene["id"], "odd": odd.json()["id"]}


def post(client, path: str, body: dict):
    return client.post(path, body, content_type="application/json")


def facets(client, body: dict) -> dict:
    response = post(client, FACETS, body)
    assert response.status_code == 200, response.content
    return response.json()


def buckets(*pairs) -> list[dict]:
    return [{"value": value, "count": count} for value, count in pairs]


EVERY_FIELD = ["label.class", "prediction.class", "tags", "metadata.camera", "metadata.weather"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_empty_query_counts_every_row_having_each_value(viewer, rows, backend):
    answer = facets(viewer, {"query": "", "fields": EVERY_FIELD, "backend": backend})
    assert (answer["backend"], answer["total"], answer["index_pending"]) == (
        backend, ALL_ROWS, False,
    )  # fmt: skip
    assert answer["facets"] == {
        "label.class": buckets(("person", 31), ("car", 16)),
        "prediction.class": buckets(("car", 10), ("bus", 5), ("truck", 1)),
        "tags": buckets(("sharp", 24), ("blurry", 6), ("night", 2)),
        "metadata.camera": buckets(
            ("front", 11), ("rear", 11), ("side", 10), (5, 2), (2.5, 1), (True, 1)
        ),
        # Only the rows holding the key: the others count under no value.
        "metadata.weather": buckets(("Rainy night, wet road", 10)),
    }
    assert answer["other"] == dict.fromkeys(EVERY_FIELD, 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_row_with_three_cars_counts_once_and_other_counts_the_labels_left(viewer, rows, backend):
    answer = facets(viewer, {"query": "", "fields": ["label.class"], "size": 1, "backend": backend})
    assert answer["facets"]["label.class"] == buckets(("person", 31))
    # 16 rows hold a car, with 18 cars among them.
    assert answer["other"]["label.class"] == 18


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_filtering_query_counts_only_the_rows_it_matches(viewer, rows, backend):
    body = {"query": "metadata.camera = 'front'", "fields": EVERY_FIELD, "backend": backend}
    answer = facets(viewer, body)
    assert answer["total"] == 11
    assert answer["facets"] == {
        "label.class": buckets(("person", 10), ("car", 6)),
        "prediction.class": buckets(("car", 4), ("bus", 2)),
        "tags": buckets(("sharp", 8), ("blurry", 2), ("night", 1)),
        "metadata.camera": buckets(("front", 11), ("rear", 1)),
        "metadata.weather": buckets(("Rainy night, wet road", 10)),
    }


@pytest.mark.parametrize("backend", BACKENDS)
def test_metadata_values_of_every_type_count_by_row_and_ties_go_by_value(viewer, rows, backend):
    body = {"query": "", "datasets": [rows["odd"]], "fields": ["metadata.camera"]}
    answer = facets(viewer, body | {"backend": backend})
    assert answer["total"] == len(ODD_ROWS)
    assert answer["facets"]["metadata.camera"] == buckets(
        (5, 2), ("front", 1), ("rear", 1), (2.5, 1), (True, 1)
    )
    top_two = facets(viewer, body | {"backend": backend, "size": 2})
    assert top_two["facets"]["metadata.camera"] == buckets((5, 2), ("front", 1))
    assert top_two["other"]["metadata.camera"] == 3  # rear, 2.5 and true


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_key_path_reaches_into_objects_and_arrays_of_objects(viewer, rows, backend):
    body = {"query": "", "fields": ['metadata."camera".position'], "backend": backend}
    answer = facets(viewer, body)
    assert answer["facets"] == {'metadata."camera".position': buckets(("front", 1), ("rear", 1))}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_dataset_filter_counts_only_its_rows(viewer, rows, backend):
    body = {"query": "", "datasets": [rows["odd"]], "backend": backend}
    answer = facets(viewer, body | {"fields": ["label.class", "tags", "prediction.class"]})
    assert answer["facets"] == {
        "label.class": buckets(("car", 1), ("person", 1)),
        "tags": buckets(("night", 2)),
        "prediction.class": [],
    }


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_query_matching_nothing_counts_nothing(viewer, rows, backend):
    body = {"query": "width > 100000", "fields": EVERY_FIELD, "backend": backend}
    answer = facets(viewer, body)
    assert (answer["total"], answer["facets"], answer["other"]) == (
        0, {field: [] for field in EVERY_FIELD}, dict.fromkeys(EVERY_FIELD, 0),
    )  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("predicted_by", "expected", "other"),
    [
        (None, [("car", 10)], 6),  # 5 buses and a truck
        ({"model": "det"}, [("car", 10)], 5),
        ({"model": "det", "version": 2}, [("bus", 5)], 0),
        ({"model": "cls"}, [("car", 1)], 1),
        ({"model": "nobody"}, [], 0),
    ],
)
def test_predicted_by_counts_one_models_predictions(
    viewer, rows, backend, predicted_by, expected, other
):
    body = {"query": "", "fields": ["prediction.class"], "size": 1, "backend": backend}
    answer = facets(viewer, body | ({"predicted_by": predicted_by} if predicted_by else {}))
    assert answer["facets"]["prediction.class"] == buckets(*expected)
    assert answer["other"]["prediction.class"] == other


@pytest.mark.parametrize("backend", BACKENDS)
def test_another_tenants_rows_are_never_counted(
    other_tenant, make_member, client_for, viewer, rows, backend
):
    with schema_context(get_public_schema_name()):  # requests leave the tenant's schema set
        stranger = client_for(other_tenant, make_member(other_tenant, Role.EDITOR))
    project = post(stranger, "/api/v1/projects/", {"name": "zoo"}).json()
    dataset = post(stranger, "/api/v1/datasets/", {"project": project["id"], "name": "z"}).json()
    zebras = [_odd_row(i, {"camera": "alien"}, ["secret"], ["zebra"]) for i in range(3)]
    job = upload(stranger, dataset["id"], jsonl(zebras), "rows.jsonl", "jsonl")
    assert wait_for_job(stranger, job.json()["id"])["created"] == 3
    wait_until_indexed(other_tenant)
    body = {"query": "", "fields": ["label.class", "tags", "metadata.camera"], "backend": backend}
    assert facets(viewer, body)["facets"]["label.class"] == buckets(("person", 31), ("car", 16))
    theirs = facets(stranger, body)
    assert (theirs["total"], theirs["facets"]) == (
        3,
        {
            "label.class": buckets(("zebra", 3)),
            "tags": buckets(("secret", 3)),
            "metadata.camera": buckets(("alien", 3)),
        },
    )


def test_auto_counts_with_elasticsearch_when_the_tenant_is_indexed(viewer, rows):
    assert facets(viewer, {"fields": ["tags"]})["backend"] == "elasticsearch"


def test_elasticsearch_asked_for_before_any_row_is_indexed_counts_nothing(viewer):
    answer = facets(viewer, {"fields": ["tags"], "backend": "elasticsearch"})
    assert (answer["backend"], answer["total"], answer["facets"]) == (
        "elasticsearch", 0, {"tags": []},
    )  # fmt: skip


@pytest.fixture
def closed_index(tenant, rows):
    """The tenant's index closed under a healthy cluster: a search fails at the query."""
    client = elasticsearch_client()
    (index,) = client.indices.get_alias(name=alias_name(tenant.schema_name))
    client.indices.close(index=index)
    yield
    client.indices.open(index=index, wait_for_active_shards="all")


def test_auto_counts_in_postgres_when_the_index_fails(viewer, closed_index):
    answer = facets(viewer, {"fields": ["tags"], "query": "metadata.camera = 'side'"})
    assert (answer["backend"], answer["facets"]["tags"]) == (
        "postgres", buckets(("sharp", 8), ("blurry", 2)),
    )  # fmt: skip


def test_elasticsearch_by_name_answers_503_when_the_index_fails(viewer, closed_index):
    response = post(viewer, FACETS, {"fields": ["tags"], "backend": "elasticsearch"})
    assert (response.status_code, response.json()["code"]) == (503, "search_unavailable")


@pytest.mark.parametrize(
    "field",
    ["width", "label.area", "colour", "metadata", "metadata.a-b", "metadata.a EXISTS OR tags"],
)
def test_a_field_facets_cannot_count_answers_400_naming_it(viewer, field):
    response = post(viewer, FACETS, {"fields": ["tags", field]})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "field_not_facetable"
    assert [problem.split(": ")[0] for problem in body["fields"]["fields"]] == [field]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"fields": []}, "fields"),
        ({"fields": ["tags"], "size": 101}, "size"),
        ({"fields": ["tags"], "size": 0}, "size"),
        ({"fields": ["tags"], "predicted_by": {"version": 2}}, "predicted_by"),
        ({"fields": ["tags"], "predicted_by": {"model": 7}}, "predicted_by"),
        ({"fields": ["tags"], "predicted_by": "det"}, "predicted_by"),
        ({"fields": "tags"}, "fields"),
    ],
)
def test_a_bad_body_answers_400_with_its_field(viewer, body, field):
    response = post(viewer, FACETS, body)
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]


def test_a_bad_query_answers_400_pointing_at_the_column(viewer):
    response = post(viewer, FACETS, {"query": "width > 'big'", "fields": ["tags"]})
    body = response.json()
    assert (response.status_code, body["code"], body["column"]) == (400, "type_mismatch", 9)
