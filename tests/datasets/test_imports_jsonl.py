"""JSONL imports through the API and the real worker: idempotent, and bad rows never stop
or corrupt the rest."""

from tests.datasets.conftest import (
    all_rows,
    export_through_server,
    jsonl,
    row,
    upload,
    wait_for_job,
)


def test_jsonl_import_creates_rows_with_annotations(editor, dataset, run_import):
    job = run_import(dataset["id"], jsonl([row(i) for i in range(250)]))
    assert (job["status"], job["total"], job["created"], job["failed"]) == (
        "succeeded",
        250,
        250,
        0,
    )
    rows = all_rows(editor, dataset["id"])
    assert len(rows) == 250
    assert rows[0]["annotations"][0]["geometry"] == {"x": 1, "y": 2, "w": 30, "h": 40}
    assert rows[0]["metadata"] == {"camera": "front", "i": 0}


def test_reimport_of_the_same_file_changes_nothing(editor, dataset, run_import):
    content = jsonl([row(i) for i in range(50)])
    run_import(dataset["id"], content)
    before = all_rows(editor, dataset["id"])
    again = run_import(dataset["id"], content)
    assert (again["unchanged"], again["created"], again["updated"]) == (50, 0, 0)
    assert all_rows(editor, dataset["id"]) == before


def test_changed_rows_are_updated_and_their_annotations_replaced(editor, dataset, run_import):
    run_import(dataset["id"], jsonl([row(i) for i in range(10)]))
    changed = [row(i) for i in range(10)]
    changed[3]["annotations"] = [{"class": "person", "bbox": [5, 5, 5, 5]}, {"class": "dog"}]
    job = run_import(dataset["id"], jsonl(changed))
    assert (job["updated"], job["unchanged"]) == (1, 9)
    third = next(r for r in all_rows(editor, dataset["id"]) if r["external_id"] == "img-3")
    assert sorted(a["class_name"] for a in third["annotations"]) == ["dog", "person"]


def test_bad_rows_are_reported_with_line_numbers_and_the_rest_imported(editor, dataset, run_import):
    lines = [row(0), "{not json", row(2), {"media_uri": "x"}, row(4, width=-3), row(5)]
    job = run_import(dataset["id"], jsonl(lines))
    assert job["status"] == "partially_failed"
    assert (job["created"], job["failed"]) == (3, 3)
    assert sorted(error["line"] for error in job["errors"]) == [2, 4, 5]
    assert all(error["message"] for error in job["errors"])
    assert {r["external_id"] for r in all_rows(editor, dataset["id"])} == {
        "img-0",
        "img-2",
        "img-5",
    }


def test_metadata_nested_too_deep_is_a_row_error(editor, dataset, run_import):
    deep: dict = {}
    for _ in range(40):
        deep = {"k": deep}
    job = run_import(dataset["id"], jsonl([row(0), row(1, metadata=deep)]))
    assert (job["created"], job["failed"]) == (1, 1)
    assert job["errors"][0]["field"] == "metadata"
    assert "deeper than 32" in job["errors"][0]["message"]


def test_a_file_of_only_bad_rows_fails_and_stores_nothing(editor, dataset, run_import):
    job = run_import(dataset["id"], b"garbage\n{}\n")
    assert job["status"] == "failed"
    assert all_rows(editor, dataset["id"]) == []


def test_import_needs_exactly_one_source(editor, dataset):
    response = editor.post(f"/api/v1/datasets/{dataset['id']}/imports/", {"format": "jsonl"})
    assert response.status_code == 400
    assert response.json()["code"] == "file_or_source_required"


def test_source_uri_outside_the_import_root_is_refused(editor, dataset):
    for source, code in (
        ("../../etc/passwd", "invalid_source"),
        ("s3://b/k.jsonl", "invalid_source"),
        ("missing.jsonl", "source_not_found"),
    ):
        response = editor.post(
            f"/api/v1/datasets/{dataset['id']}/imports/",
            {"format": "jsonl", "source_uri": source},
            content_type="application/json",
        )
        assert response.status_code == 400, source
        assert response.json()["code"] == code


def test_unknown_format_is_refused(editor, dataset):
    response = upload(editor, dataset["id"], b"{}", "x.txt", "xml")
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert "format" in response.json()["fields"]


def test_export_round_trips_through_import_unchanged(asgi_server, editor, dataset, run_import):
    rows = [
        row(i, annotations=[{"class": "car", "polygon": [[0, 0], [4, 0], [4, 4]]}])
        for i in range(2500)  # past one export chunk (2,000 rows)
    ]
    run_import(dataset["id"], jsonl(rows))
    exported = export_through_server(asgi_server, editor, dataset["id"], "jsonl")
    assert exported.count(b"\n") == 2500
    again = run_import(dataset["id"], exported)
    assert (again["unchanged"], again["failed"]) == (2500, 0)


def test_export_of_an_unknown_format_is_refused(editor, dataset):
    response = editor.get(f"/api/v1/datasets/{dataset['id']}/export?format=xml")
    assert (response.status_code, response.json()["code"]) == (400, "unknown_format")


def test_a_row_postgres_or_the_encoder_refuses_is_reported_and_the_rest_kept(
    editor, dataset, run_import
):
    lines = [row(0), row(1, metadata={"big": 2**80}), row(2, metadata={"nul": "a\u0000b"}), row(3)]
    job = run_import(dataset["id"], jsonl(lines))
    assert (job["created"], job["failed"]) == (2, 2)
    assert sorted(error["line"] for error in job["errors"]) == [2, 3]
    assert {r["external_id"] for r in all_rows(editor, dataset["id"])} == {"img-0", "img-3"}


def test_a_source_uri_reads_only_the_tenants_own_folder(
    tenant, other_tenant, editor, dataset, run_import, settings
):
    from pathlib import Path

    for owner, name in ((tenant, "mine.jsonl"), (other_tenant, "theirs.jsonl")):
        folder = Path(settings.IMPORT_ROOT) / owner.schema_name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(jsonl([row(1)]))
    theirs = editor.post(
        f"/api/v1/datasets/{dataset['id']}/imports/",
        {"format": "jsonl", "source_uri": "theirs.jsonl"},
        content_type="application/json",
    )
    assert (theirs.status_code, theirs.json()["code"]) == (400, "source_not_found")
    mine = editor.post(
        f"/api/v1/datasets/{dataset['id']}/imports/",
        {"format": "jsonl", "source_uri": "mine.jsonl"},
        content_type="application/json",
    )
    assert mine.status_code == 202
    assert wait_for_job(editor, mine.json()["id"])["created"] == 1


def test_a_source_uri_name_too_long_is_a_400(editor, dataset):
    response = editor.post(
        f"/api/v1/datasets/{dataset['id']}/imports/",
        {"format": "jsonl", "source_uri": "x" * 400},
        content_type="application/json",
    )
    assert (response.status_code, response.json()["code"]) == (400, "source_not_found")


def test_a_number_too_large_for_a_float_is_a_row_error_not_stored_as_null(
    editor, dataset, run_import
):
    lines = [row(0), '{"external_id": "x", "media_uri": "y", "metadata": {"n": 1e999}}']
    job = run_import(dataset["id"], jsonl(lines))
    assert (job["created"], job["failed"]) == (1, 1)
    assert job["errors"][0]["line"] == 2
    assert [r["external_id"] for r in all_rows(editor, dataset["id"])] == ["img-0"]


def test_rows_postgres_refuses_anywhere_in_a_batch_are_each_reported(editor, dataset, run_import):
    bad = {3, 77, 78, 150}
    lines = [row(i, metadata={"nul": "a\u0000b"}) if i in bad else row(i) for i in range(200)]
    job = run_import(dataset["id"], jsonl(lines))
    assert (job["created"], job["failed"]) == (196, 4)
    assert sorted(error["line"] for error in job["errors"]) == [i + 1 for i in sorted(bad)]
    stored = {r["external_id"] for r in all_rows(editor, dataset["id"])}
    assert stored == {f"img-{i}" for i in range(200) if i not in bad}


def test_values_with_copy_special_characters_are_stored_exactly(editor, dataset, run_import):
    odd = 'tab\there, line\nbreak\r\\back\\slash "quoted" {braces} \\N é 🚗'
    line = {
        "external_id": odd,
        "media_uri": odd,
        "metadata": {odd: odd, "nested": {"list": [odd, 1.5, None]}},
        "tags": [odd, "plain", "a,b", "{x}"],
        "annotations": [{"class": odd, "attributes": {odd: [odd]}}],
    }
    job = run_import(dataset["id"], jsonl([line]))
    assert (job["created"], job["failed"]) == (1, 0)
    (stored,) = all_rows(editor, dataset["id"])
    assert (stored["external_id"], stored["media_uri"]) == (odd, odd)
    assert (stored["metadata"], stored["tags"]) == (line["metadata"], line["tags"])
    annotation = stored["annotations"][0]
    assert (annotation["class_name"], annotation["attributes"]) == (odd, {odd: [odd]})
    again = run_import(dataset["id"], jsonl([line]))
    assert (again["unchanged"], again["updated"]) == (1, 0)
