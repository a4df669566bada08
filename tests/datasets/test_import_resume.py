"""A worker killed mid-import leaves the job resumable, and resuming duplicates nothing."""

import pytest
from django.test import override_settings
from django_tenants.utils import tenant_context

from apps.datasets.imports import create_local_import, run_import
from apps.datasets.models import Annotation, DataRow, Dataset, ImportJob
from apps.projects.models import Project
from tests.datasets.conftest import jsonl, row


class WorkerKilled(BaseException):
    """Stands for the process dying: nothing after it runs, no handler catches it."""


@override_settings(IMPORT_BATCH_SIZE=100)
def test_a_killed_import_resumes_and_completes_without_duplicates(tenant, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(jsonl([row(i) for i in range(450)]))
    with tenant_context(tenant):
        dataset = Dataset.objects.create(project=Project.objects.create(name="p"), name="d")
        job = create_local_import(dataset=dataset, format="jsonl", path=str(path))

        def die_after_two_batches(progress):
            if progress.records_done >= 200:
                raise WorkerKilled

        with pytest.raises(WorkerKilled):
            run_import(job_id=job.pk, on_progress=die_after_two_batches)
        interrupted = ImportJob.objects.get(pk=job.pk)
        assert (interrupted.status, interrupted.records_done) == ("running", 200)
        assert DataRow.objects.filter(dataset=dataset).count() == 200

        finished = run_import(job_id=job.pk)
        assert (finished.status, finished.created, finished.total) == ("succeeded", 450, 450)
        assert DataRow.objects.filter(dataset=dataset).count() == 450
        assert Annotation.objects.filter(data_row__dataset=dataset).count() == 450


def test_running_a_finished_job_again_changes_nothing(tenant, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(jsonl([row(i) for i in range(5)]))
    with tenant_context(tenant):
        dataset = Dataset.objects.create(project=Project.objects.create(name="p"), name="d")
        job = run_import(
            job_id=create_local_import(dataset=dataset, format="jsonl", path=str(path)).pk
        )
        again = run_import(job_id=job.pk)
        assert (again.status, again.created, again.total) == ("succeeded", 5, 5)
        assert DataRow.objects.filter(dataset=dataset).count() == 5
