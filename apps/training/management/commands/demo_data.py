"""Demo datasets to try the platform on, made from images that need no download:
`demo_data --tenant acme [--digits N] [--shapes N]`.

Project `demo` gets a `digits` dataset (scikit-learn's handwritten digits, whole-image
classes) and a `shapes` dataset (generated, with bounding boxes), each imported as a ZIP of
images through the same import the API and `import_dataset` run. Idempotent: a second run
finds the project and datasets and leaves every row unchanged.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterable
from pathlib import Path

from django.core.management.base import CommandError
from django_tenants.utils import tenant_context

from apps.datasets.import_runs import ImportInterrupted, fail_interrupted_import, run_import
from apps.datasets.imports import create_local_import
from apps.datasets.models import Dataset, ImportFormat, ImportJob
from apps.datasets.services import create_dataset
from apps.projects.models import Project
from apps.projects.services import create_project
from apps.training.demo_images import DemoImage, digit_images, shape_images, write_zip
from tenants.management.base import MigratedDatabaseCommand
from tenants.models import Tenant

PROJECT_NAME = "demo"
DEFAULT_SHAPES = 200


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more; got {value}")
    return value


class Command(MigratedDatabaseCommand):
    help = "Create project `demo` with datasets `digits` and `shapes` of real images."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument(
            "--digits", type=_count, help="import only the first N digits (default: all 1,797)"
        )
        parser.add_argument(
            "--shapes", type=_count, default=DEFAULT_SHAPES, help="how many shape images"
        )

    def handle(self, *args, **options):
        tenant = Tenant.objects.using("default").filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']!r}")
        demos = {
            "digits": digit_images(options["digits"]),
            "shapes": shape_images(options["shapes"]),
        }
        datasets = {}
        with tenant_context(tenant), tempfile.TemporaryDirectory(prefix="loupe-demo-") as tmp:
            project = _demo_project()
            for name, images in demos.items():
                dataset = _demo_dataset(project, name)
                job = _import(dataset, images, Path(tmp) / f"{name}.zip")
                self.stdout.write(
                    f"dataset {dataset.pk} ({PROJECT_NAME}/{name}): import {job.pk} "
                    f"{job.status}; created {job.created}, updated {job.updated}, "
                    f"unchanged {job.unchanged}, failed {job.failed}"
                )
                for error in job.errors[:20]:
                    self.stdout.write(
                        f"  at {error['line']}: {error['field'] or '-'}: {error['message']}"
                    )
                if job.detail:
                    raise CommandError(job.detail)
                datasets[name] = dataset
        self.stdout.write(_next_steps(tenant, digits=datasets["digits"]))


def _next_steps(tenant: Tenant, *, digits: Dataset) -> str:
    api = f"http://{tenant.get_primary_domain().domain}:8000/api/v1"
    body = f'{{"name": "all digits", "dataset": {digits.pk}, "query": ""}}'
    run = '{"name": "first cnn", "spec": "small_cnn", "slice": <slice id>}'
    return (
        "next: cut a slice over the digits and train on it (README: Training):\n"
        f"  TOKEN=$(.venv/bin/python manage.py issue_token --tenant {tenant.slug} "
        "--email you@example.com --role owner)\n"
        f'  curl -X POST -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" '
        f"-d '{body}' {api}/slices/\n"
        f'  curl -X POST -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" '
        f"-d '{run}' {api}/training-runs/"
    )


def _demo_project() -> Project:
    project = Project.objects.using("default").filter(name=PROJECT_NAME).first()
    if project is None:
        project = create_project(
            name=PROJECT_NAME, description="Demo datasets made by `demo_data`.", actor=None
        )
    return project


def _demo_dataset(project: Project, name: str) -> Dataset:
    dataset = Dataset.objects.using("default").filter(project=project, name=name).first()
    if dataset is None:
        dataset = create_dataset(project_id=project.pk, name=name, actor=None)
    return dataset


def _import(dataset: Dataset, images: Iterable[DemoImage], path: Path) -> ImportJob:
    """Writes the images to a ZIP at `path` and imports it in this process, as
    `import_dataset` does."""
    write_zip(path, images)
    job = create_local_import(dataset=dataset, format=ImportFormat.ZIP, path=str(path))
    try:
        return run_import(job_id=job.pk)
    except ImportInterrupted as exc:
        job = fail_interrupted_import(job_id=job.pk, reason=str(exc))
        raise CommandError(job.detail) from exc
