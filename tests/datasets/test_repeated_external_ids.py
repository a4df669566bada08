"""An external_id a file names again is an error on the later record, whichever batches the
two fall in, and after a resumed import too."""

import pytest
from django.test import override_settings
from django_tenants.utils import tenant_context

from apps.datasets.import_runs import run_import
from apps.datasets.imports import create_local_import
from apps.datasets.models import Dataset, ImportStatus
from tests.datasets.conftest import all_rows, import_here, jsonl, only_import, row


@pytest.mark.parametrize("batch_size", [5000, 2], ids=["one batch", "batches of two"])
def test_a_repeated_external_id_is_an_error_naming_the_first_line_whatever_the_batches(
    tenant, editor, dataset, tmp_path, batch_size
):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(jsonl([row(0), row(1), row(2), row(0, media_uri="s3://bucket/again.jpg")]))

    with override_settings(IMPORT_BATCH_SIZE=batch_size):
        import_here(tenant, dataset["id"], path)

    job = only_import(editor, dataset["id"])
    assert (job["status"], job["created"], job["updated"], job["failed"]) == (
        "partially_failed",
        3,
        0,
        1,
    )
    assert job["errors"] == [
        {"line": 4, "field": "external_id", "message": "'img-0' repeats the row at 1"}
    ]
    first = next(r for r in all_rows(editor, dataset["id"]) if r["external_id"] == "img-0")
    assert first["media_uri"] == "s3://bucket/0.jpg"


def test_a_resumed_import_still_knows_the_ids_committed_before_it_stopped(
    tenant, dataset, tmp_path
):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(jsonl([row(0), row(1), row(0, media_uri="s3://bucket/again.jpg")]))
    with tenant_context(tenant), override_settings(IMPORT_BATCH_SIZE=1):
        job = create_local_import(
            dataset=Dataset.objects.get(pk=dataset["id"]), format="jsonl", path=str(path)
        )
        # The file imported whole once, then stood for a run lost after its second record.
        run_import(job_id=job.pk)
        job.refresh_from_db()
        job.status, job.records_done, job.failed, job.errors = ImportStatus.RUNNING, 2, 0, []
        job.finished_at = None
        job.save()

        resumed = run_import(job_id=job.pk, resuming=True)

    assert (resumed.status, resumed.failed, resumed.records_done) == ("partially_failed", 1, 3)
    assert resumed.errors == [
        {"line": 3, "field": "external_id", "message": "'img-0' repeats the row at 1"}
    ]
