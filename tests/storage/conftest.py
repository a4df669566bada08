"""Fixtures for object storage: the S3 server scripts/services.sh runs (or the one
S3_ENDPOINT_URL names), a key prefix of this run's own in its test buckets, the test
process's storage pointed there, a worker of its own with the same settings taking the
default and gpu queues from the session's workers, and a boto3 client to see what the
buckets hold; or, for tests of both kinds, local files in a folder of the test's own."""

from __future__ import annotations

import io
import socket
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from PIL import Image

from loupe.storage.config import bucket_options, import_prefixes
from tests.datasets.conftest import dataset, editor  # noqa: F401
from tests.support import processes
from tests.support import s3 as s3_server
from tests.support.database import wait_for_replica_catch_up

# The platform's bucket in these tests, and a second one standing for a tenant's data lake.
BUCKET = "loupe-test"
LAKE = "loupe-test-lake"


@dataclass(frozen=True)
class S3Store:
    """The test buckets, as boto3 sees them, and what this run's storage is set to."""

    client: object
    location: str  # this run's key prefix, in both buckets
    environment: dict  # what a process needs to store files there

    @property
    def storage_url(self) -> str:
        return self.environment["STORAGE_URL"]

    def keys(self, prefix: str, bucket: str = BUCKET) -> list[str]:
        """The keys of the objects under `<location>/<prefix>`, relative to the location
        (the server's folder markers, which end in "/", left out)."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=f"{self.location}/{prefix}"
        )
        found = [item["Key"] for page in pages for item in page.get("Contents", ())]
        return sorted(key.removeprefix(f"{self.location}/") for key in found if key[-1] != "/")

    def put(self, key: str, body: bytes, bucket: str = BUCKET) -> str:
        """Store an object at `<location>/<key>`; its s3:// URI."""
        self.client.put_object(Bucket=bucket, Key=f"{self.location}/{key}", Body=body)
        return f"s3://{bucket}/{self.location}/{key}"


def _make_bucket(client, name: str) -> None:
    try:
        client.create_bucket(Bucket=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


def _empty(client, bucket: str, prefix: str) -> None:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        for item in page.get("Contents", ()):
            client.delete_object(Bucket=bucket, Key=item["Key"])


@pytest.fixture(scope="package")
def s3(django_db_setup, celery_worker, gpu_worker, tmp_path_factory) -> Iterator[S3Store]:
    """Storage in the test bucket under a prefix of this run's own, for the test process
    and for a worker of its own (`s3@<host>`, default and gpu queues), with the lake's
    `<location>/{schema}/` as IMPORT_S3_PREFIXES. The session's workers give those queues
    up meanwhile, so that no job of these tests is run against other storage."""
    connection = s3_server.connection()
    client = s3_server.client(BUCKET, connection)
    for bucket in (BUCKET, LAKE):
        _make_bucket(client, bucket)
    location = f"run{uuid.uuid4().hex[:8]}"
    storage_url = f"s3://{BUCKET}/{location}"
    prefixes = import_prefixes([f"s3://{LAKE}/{location}/{{schema}}/"], storage_url=storage_url)
    environment = {
        "STORAGE_URL": storage_url,
        "S3_ENDPOINT_URL": connection.endpoint_url,
        "AWS_ACCESS_KEY_ID": connection.access_key,
        "AWS_SECRET_ACCESS_KEY": connection.secret_key,
        "IMPORT_S3_PREFIXES": ",".join(prefixes),
    }
    options = bucket_options(bucket=BUCKET, prefix=location, connection=connection)
    storages = {
        **settings.STORAGES,
        "default": {"BACKEND": "loupe.storage.backends.S3Bucket", "OPTIONS": options},
    }
    host = socket.gethostname()
    session_workers = {"default": f"celery@{host}", "gpu": f"gpu{gpu_worker.count}@{host}"}
    log = tmp_path_factory.mktemp("s3-worker") / "worker.log"
    with override_settings(STORAGES=storages, IMPORT_S3_PREFIXES=prefixes):
        for queue, worker in session_workers.items():
            processes.consume(queue, worker=worker, on=False)
        try:
            with processes.celery_worker(log, queues="default,gpu", name="s3@%h", env=environment):
                yield S3Store(client=client, location=location, environment=environment)
        finally:
            for queue, worker in session_workers.items():
                processes.consume(queue, worker=worker, on=True)
            for bucket in (BUCKET, LAKE):
                _empty(client, bucket, f"{location}/")


@dataclass(frozen=True)
class LocalStore:
    """Local files in a folder of the test's own."""

    root: Path

    def keys(self, prefix: str) -> list[str]:
        return sorted(
            str(path.relative_to(self.root))
            for path in (self.root / prefix).rglob("*")
            if path.is_file()
        )


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    """Each kind of storage in turn, in the test process: local files (in a folder of the
    test's own), then the S3 bucket."""
    if request.param == "s3":
        yield request.getfixturevalue("s3")
        return
    root = tmp_path / "media"
    storages = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "loupe.storage.backends.LocalFiles",
            "OPTIONS": {"location": str(root)},
        },
    }
    with override_settings(STORAGES=storages):
        yield LocalStore(root)


def png(width: int = 8, height: int = 8, colour: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def import_here(tenant, dataset_id: int, path: Path) -> None:
    """Import a file in this process, as `manage.py import_dataset` does; the replica has
    caught up with it when this returns, as by the time a person looks."""
    call_command(
        "import_dataset",
        "--tenant",
        tenant.slug,
        "--dataset",
        str(dataset_id),
        str(path),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    wait_for_replica_catch_up()
