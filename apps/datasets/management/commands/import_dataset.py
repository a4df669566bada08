"""Run an import in this process, with a progress bar:
`import_dataset --tenant acme --dataset 3 FILE [--format jsonl]`."""

from pathlib import Path

from django.core.management.base import CommandError
from django_tenants.utils import tenant_context
from tqdm import tqdm

from apps.datasets.import_runs import ImportInterrupted, fail_interrupted_import, run_import
from apps.datasets.imports import create_local_import
from apps.datasets.models import Dataset, ImportFormat
from tenants.management.base import MigratedDatabaseCommand
from tenants.models import Tenant

SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".json": "coco", ".zip": "zip"}


class Command(MigratedDatabaseCommand):
    help = "Import a file into a dataset through the same importer the API uses."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--dataset", required=True, type=int)
        parser.add_argument(
            "--format", choices=ImportFormat.values, help="default: from the suffix"
        )
        parser.add_argument("file")

    def handle(self, *args, **options):
        path = Path(options["file"]).resolve()
        if not path.is_file():
            raise CommandError(f"no file {path}")
        import_format = options["format"] or SUFFIXES.get(path.suffix.lower())
        if import_format is None:
            raise CommandError(f"cannot tell the format of {path.name}; pass --format")
        tenant = Tenant.objects.using("default").filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']!r}")
        with tenant_context(tenant):
            dataset = Dataset.objects.using("default").filter(pk=options["dataset"]).first()
            if dataset is None:
                raise CommandError(f"no dataset {options['dataset']} in {tenant.slug}")
            job = create_local_import(dataset=dataset, format=import_format, path=str(path))
            with tqdm(unit=" rows", desc=path.name) as bar:

                def advance(progress) -> None:
                    bar.update(progress.total - bar.n)

                try:
                    job = run_import(job_id=job.pk, on_progress=advance)
                except ImportInterrupted as exc:
                    job = fail_interrupted_import(job_id=job.pk, reason=str(exc))
                    raise CommandError(job.detail) from exc
        self.stdout.write(
            f"import {job.pk}: {job.status}; created {job.created}, updated {job.updated}, "
            f"unchanged {job.unchanged}, failed {job.failed}"
        )
        for error in job.errors[:20]:
            self.stdout.write(f"  at {error['line']}: {error['field'] or '-'}: {error['message']}")
        if job.detail:
            raise CommandError(job.detail)
