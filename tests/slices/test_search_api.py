"""POST /api/v1/search/, /search/count/ and GET /search/fields/, on both backends."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.datasets.models import DataRow, Dataset
from apps.predictions.models import Prediction
from apps.projects.models import Project
from apps.slices.searching import encode_cursor
from apps.training.models import Model, ModelVersion
from search.models import OutboxEntry
from tests.search.conftest import wait_until_indexed
from tests.search.documented_examples import (
    DOC_ROWS,
    HIGHWAY,
    documented_examples,
    importable,
    meanings,
    words_of,
)
from tests.slices.conftest import SCENE_SIZE, jsonl, scene_row
from tests.support.database import wait_for_replica_catch_up

BACKENDS = ["elasticsearch", "postgres"]


def post(client, path: str, body: dict):
    return client.post(path, body, content_type="application/json")


def search(client, body: dict) -> dict:
    response = post(client, "/api/v1/search/", body)
    assert response.status_code == 200, response.content
    return response.json()


def expected(predicate) -> list[str]:
    return [scene_row(i)["external_id"] for i in range(SCENE_SIZE) if predicate(scene_row(i))]


def _has_big_car(r: dict) -> bool:
    return any(a["class"] == "car" and a["bbox"][2] * a["bbox"][3] > 1000 for a in r["annotations"])


QUERIES = [
    ("metadata.camera = 'front'", lambda r: r["metadata"]["camera"] == "front"),
    (
        "metadata.camera IN ('rear', 'side') AND width >= 660",
        lambda r: r["metadata"]["camera"] != "front" and r["width"] >= 660,
    ),
    ("label(class = 'car' AND area > 1000)", _has_big_car),
    ("NOT tags CONTAINS 'blurry'", lambda r: "blurry" not in r["tags"]),
    ("text ~ 'rainy NIGHT'", lambda r: "weather" in r["metadata"]),
    (
        "metadata.weather EXISTS OR label(class = 'car') AND NOT label(class = 'bus')",
        lambda r: "weather" in r["metadata"] or any(a["class"] == "car" for a in r["annotations"]),
    ),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("query", "predicate"), QUERIES, ids=[q for q, _ in QUERIES])
def test_search_finds_the_rows_the_query_describes(viewer, scene, backend, query, predicate):
    answer = search(viewer, {"query": query, "backend": backend, "page_size": 100})
    assert answer["backend"] == backend
    assert [r["external_id"] for r in answer["rows"]] == expected(predicate)
    assert answer["total"] == len(expected(predicate))


@pytest.mark.parametrize("backend", BACKENDS)
def test_pages_follow_the_cursor_to_the_end(viewer, scene, backend):
    seen, cursor = [], None
    while True:
        body = {"query": "", "backend": backend, "page_size": 7}
        answer = search(viewer, body | ({"cursor": cursor} if cursor else {}))
        assert answer["total"] == SCENE_SIZE
        seen += [r["external_id"] for r in answer["rows"]]
        cursor = answer["next_cursor"]
        if cursor is None:
            break
    assert seen == [scene_row(i)["external_id"] for i in range(SCENE_SIZE)]


def test_rows_come_with_their_annotations(viewer, scene):
    row = search(viewer, {"query": "metadata.i = 4"})["rows"][0]
    assert sorted(a["class_name"] for a in row["annotations"]) == ["car", "person"]
    assert {a["class_name"]: a["area"] for a in row["annotations"]} == {"car": 500, "person": 25}


def test_auto_uses_elasticsearch_when_the_tenant_is_indexed(viewer, scene):
    assert search(viewer, {"query": ""})["backend"] == "elasticsearch"


def test_a_tenant_with_no_index_is_served_by_postgres(viewer):
    answer = search(viewer, {"query": "width > 1"})
    assert (answer["backend"], answer["total"]) == ("postgres", 0)


def test_elasticsearch_asked_for_before_any_row_is_indexed_finds_nothing(viewer):
    """The cluster answers but holds no index of the tenant's yet: nothing to find, not 503."""
    answer = search(viewer, {"query": "", "backend": "elasticsearch"})
    assert (answer["backend"], answer["total"], answer["rows"]) == ("elasticsearch", 0, [])
    assert answer["index_pending"] is False
    counted = post(viewer, "/api/v1/search/count/", {"query": "", "backend": "elasticsearch"})
    assert (counted.status_code, counted.json()["count"]) == (200, 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_count_answers_the_number_of_rows(viewer, scene, backend):
    response = post(
        viewer, "/api/v1/search/count/", {"query": "metadata.camera = 'side'", "backend": backend}
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"backend": backend, "count": 10, "index_pending": False}


def test_a_count_says_when_changes_are_on_their_way_to_the_index(tenant, viewer, scene):
    """An outbox entry no drain was asked for: Elasticsearch's count may miss it, and says
    so; Postgres counts the rows themselves."""
    body = {"query": "", "backend": "elasticsearch"}
    with tenant_context(tenant):
        entry = OutboxEntry.objects.create(data_row_id=DataRow.objects.first().pk)
    # The answer reads the outbox where it reads rows: the replica, once it has the entry.
    wait_for_replica_catch_up()
    try:
        assert post(viewer, "/api/v1/search/count/", body).json()["index_pending"] is True
        body["backend"] = "postgres"
        assert post(viewer, "/api/v1/search/count/", body).json()["index_pending"] is False
    finally:
        with tenant_context(tenant):
            entry.delete()


def test_search_can_be_limited_to_datasets(viewer, scene):
    answer = search(viewer, {"query": "", "datasets": [scene["id"]], "page_size": 1})
    assert answer["total"] == SCENE_SIZE
    response = post(viewer, "/api/v1/search/", {"query": "", "datasets": [scene["id"] + 1000]})
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_dataset"


def test_datasets_can_be_named_in_the_query(viewer, scene):
    assert search(viewer, {"query": "dataset = 'frames'"})["total"] == SCENE_SIZE
    response = post(viewer, "/api/v1/search/", {"query": "dataset = 'nope'"})
    assert (response.status_code, response.json()["code"]) == (400, "unknown_dataset")


@pytest.mark.parametrize(
    ("query", "code", "line", "column"),
    [
        ("width > 'big'", "type_mismatch", 1, 9),
        ("metadata.camera = 'front' AND", "query_syntax", 1, 30),
        ("colour = 'red'", "unknown_field", 1, 1),
        ("label(class = 'car' AND\n  widht > 3)", "unknown_field", 2, 3),
        ("prediction(scor < 0.4)", "unknown_field", 1, 12),
    ],
)
def test_a_bad_query_answers_400_pointing_at_the_column(viewer, query, code, line, column):
    response = post(viewer, "/api/v1/search/", {"query": query})
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["line"], body["column"]) == (code, line, column)
    assert body["detail"] and body["fields"]["query"]


@pytest.mark.parametrize(
    "cursor", ["not-a-cursor", encode_cursor(3, total=-1), encode_cursor(3, total="30")]
)
def test_a_bad_cursor_answers_400(viewer, scene, cursor):
    response = post(viewer, "/api/v1/search/", {"query": "", "cursor": cursor})
    assert (response.status_code, response.json()["code"]) == (400, "invalid_cursor")


@pytest.mark.parametrize("backend", BACKENDS)
def test_later_pages_carry_the_total_their_first_page_counted(
    tenant, editor, scene, run_import, backend
):
    body = {"query": "", "backend": backend, "page_size": 10}
    first = search(editor, body)
    run_import(scene["id"], jsonl([scene_row(SCENE_SIZE)]))  # one more row matches now
    wait_until_indexed(tenant)
    later = search(editor, body | {"cursor": first["next_cursor"]})
    assert (first["total"], later["total"]) == (SCENE_SIZE, SCENE_SIZE)
    assert search(editor, body)["total"] == SCENE_SIZE + 1
    # A cursor without a total, as before the total travelled in it, has the page count.
    after_first = encode_cursor(first["rows"][-1]["id"])
    assert search(editor, body | {"cursor": after_first})["total"] == SCENE_SIZE + 1


def test_page_size_is_bounded(viewer):
    response = post(viewer, "/api/v1/search/", {"query": "", "page_size": 5000})
    assert response.status_code == 400
    assert "page_size" in response.json()["fields"]


def test_fields_list_builtins_and_the_metadata_keys_seen(viewer, scene):
    response = viewer.get("/api/v1/search/fields/")
    assert response.status_code == 200
    body = response.json()
    names = {f["name"]: f for f in body["fields"]}
    assert {"external_id", "width", "tags", "text", "metadata.camera", "metadata.i"} <= set(names)
    assert names["metadata.i"]["types"] == ["number"]
    assert names["metadata.camera"]["types"] == ["string"]
    assert {f["name"] for f in body["label_fields"]} >= {"class", "area"}
    # Every field prediction(...) takes, as the query language checks them.
    assert [f["name"] for f in body["prediction_fields"]] == [
        "model", "version", "class", "score", "rank", "area", "eval", "iou",
    ]  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_last_full_page_has_no_next_cursor(viewer, scene, backend):
    pages, cursor = 0, None
    while True:
        body = {"query": "", "backend": backend, "page_size": 10}
        answer = search(viewer, body | ({"cursor": cursor} if cursor else {}))
        pages += 1
        assert len(answer["rows"]) == 10
        cursor = answer["next_cursor"]
        if cursor is None:
            break
    assert pages == SCENE_SIZE // 10


def test_an_empty_dataset_list_is_refused(viewer, scene):
    response = post(viewer, "/api/v1/search/", {"query": "", "datasets": []})
    assert response.status_code == 400
    assert "datasets" in response.json()["fields"]


def test_fields_come_from_postgres_where_the_tenant_has_no_index(tenant, viewer):
    with tenant_context(tenant):
        project = Project.objects.create(name="p")
        dataset = Dataset.objects.create(project=project, name="d")
        DataRow.objects.create(
            dataset=dataset,
            external_id="x",
            media_uri="m",
            metadata={"camera": "front", "lens": {"focal mm": 35}},
        )
    body = viewer.get("/api/v1/search/fields/").json()
    assert body["metadata_keys_from"] == "postgres"
    keys = {f["name"]: f["types"] for f in body["fields"] if f["name"].startswith("metadata.")}
    assert keys == {
        "metadata.camera": ["string"],
        "metadata.lens": [],
        'metadata.lens."focal mm"': ["number"],
    }


def _store_predictions_and_times(dataset_id: int) -> None:
    """Inside the tenant: the doc rows' predictions, and their times (the outbox triggers
    send both to the index, as they do any change to a row)."""
    ids = dict(
        DataRow.objects.using("default")
        .filter(dataset_id=dataset_id)
        .values_list("external_id", "pk")
    )
    versions: dict[tuple[str, int], ModelVersion] = {}
    for key in dict.fromkeys(
        (p["model"], p["version"]) for r in DOC_ROWS for p in r["predictions"]
    ):
        model, _ = Model.objects.using("default").get_or_create(
            name=key[0], defaults={"task": "detection"}
        )
        versions[key] = ModelVersion.objects.create(
            model=model, version=key[1], spec="test", artifact=f"{key[0]}/{key[1]}"
        )
    Prediction.objects.bulk_create(
        Prediction(
            data_row_id=ids[row["external_id"]],
            model_version=versions[p["model"], p["version"]],
            class_name=p["class"],
            score=p["score"],
            rank=p["rank"],
            geometry_type="none" if p["bbox"] is None else "bbox",
            geometry=None if p["bbox"] is None else dict(zip("xywh", p["bbox"], strict=True)),
            eval=p["eval"],
            iou=p["iou"],
        )
        for row in DOC_ROWS
        for p in row["predictions"]
    )
    for row in DOC_ROWS:
        DataRow.objects.filter(pk=ids[row["external_id"]]).update(
            created_at=row["created_at"], updated_at=row["updated_at"]
        )


@pytest.fixture
def documented(tenant, editor, scene, run_import) -> list[dict]:
    """The scene, and beside it the rows made for the page's examples in a dataset named as
    an example names one, all indexed: every row as the examples' meanings read it, in id
    order."""
    highway = post(editor, "/api/v1/datasets/", {"project": scene["project"], "name": HIGHWAY})
    assert highway.status_code == 201, highway.content
    highway_id = highway.json()["id"]
    job = run_import(highway_id, jsonl([importable(r) for r in DOC_ROWS]))
    assert job["created"] == len(DOC_ROWS)
    with tenant_context(tenant):
        _store_predictions_and_times(highway_id)
    wait_until_indexed(tenant)
    # The scene's rows were made during this run, after every instant the examples name.
    now = timezone.now()
    scene_rows = [
        {**scene_row(i), "dataset": scene["id"], "predictions": [], "created_at": now,
         "updated_at": now}
        for i in range(SCENE_SIZE)
    ]  # fmt: skip
    return scene_rows + [{**r, "dataset": highway_id} for r in DOC_ROWS]


@pytest.mark.parametrize("query", documented_examples())
def test_every_documented_example_selects_the_rows_it_describes_on_both_backends(
    viewer, documented, query
):
    meaning = meanings(highway_id=documented[-1]["dataset"]).get(words_of(query))
    assert meaning, f"an example of docs/query-language.md that this test does not know: {query}"
    wanted = [r["external_id"] for r in documented if meaning(r)]
    # Rows on both sides of the example, so that a backend can be wrong either way.
    assert 0 < len(wanted) < len(documented), f"no row, or every row, matches {query}"
    for backend in BACKENDS:
        answer = search(viewer, {"query": query, "backend": backend, "page_size": 1000})
        found = [r["external_id"] for r in answer["rows"]]
        assert (answer["backend"], found, answer["total"]) == (backend, wanted, len(wanted))


def test_every_example_known_is_on_the_page():
    assert set(meanings(highway_id=0)) - {words_of(q) for q in documented_examples()} == set()
