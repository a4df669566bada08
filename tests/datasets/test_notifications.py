"""An import submitted with `notify` e-mails its submitter when it ends, through the real
SMTP server the workers' EMAIL_URL names: what became of its records, and why rows failed."""

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.datasets.conftest import jsonl, row, wait_for_job


def _imported(client, dataset_id: int, content: bytes, **fields) -> dict:
    response = client.post(
        f"/api/v1/datasets/{dataset_id}/imports/",
        {"format": "jsonl", "file": SimpleUploadedFile("rows.jsonl", content), **fields},
    )
    assert response.status_code == 202, response.content
    assert response.json()["notify"] is (fields.get("notify") == "true")
    return wait_for_job(client, response.json()["id"])


def _body(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def test_an_import_asking_for_it_mails_what_became_of_its_records(
    celery_worker, mailbox, tenant, editor, dataset
):
    job = _imported(editor, dataset["id"], jsonl([row(i) for i in range(3)]), notify="true")
    submitter = editor.get("/api/v1/me/").json()["user"]["email"]
    mail = mailbox.wait_for(f"[Loupe] import job {job['id']} succeeded", to=submitter)
    body = _body(mail)
    assert f"Import job {job['id']} in {tenant.name} succeeded." in body
    assert "Dataset: frames (project drive), format jsonl" in body
    assert "Records: 3 read: 3 created, 0 updated, 0 unchanged, 0 failed" in body
    assert f"/api/v1/imports/{job['id']}/" in body
    assert "Error:" not in body


def test_a_partly_failed_import_mails_its_first_row_errors_and_one_not_asking_mails_none(
    celery_worker, mailbox, editor, dataset
):
    quiet = _imported(editor, dataset["id"], jsonl([row(1)]))
    content = jsonl([row(1), "not json", {"external_id": "x"}])
    job = _imported(editor, dataset["id"], content, notify="true")
    assert job["status"] == "partially_failed"
    submitter = editor.get("/api/v1/me/").json()["user"]["email"]
    body = _body(mailbox.wait_for(f"[Loupe] import job {job['id']} partially_failed", to=submitter))
    assert "Records: 3 read: 0 created, 0 updated, 1 unchanged, 2 failed" in body
    assert "First row errors (of 2):" in body
    assert "  line 2: " in body and "  line 3" in body
    assert [m for m in mailbox.about(f"import job {quiet['id']} ") if m["To"] == submitter] == []
