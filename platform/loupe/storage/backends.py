"""The two storage backends STORAGES may name: files under MEDIA_ROOT (the embedded
default), or a bucket of an S3-compatible store. Both add what the platform needs beyond
Django's Storage API: a stored file as a local path, a write that replaces, and deleting or
sizing everything under a prefix."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import PurePosixPath

from botocore.exceptions import ClientError
from django.core.files.storage import FileSystemStorage
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

# delete_objects takes at most this many keys a call (as list_objects_v2 returns a page).
_DELETE_BATCH = 1000


def _check_prefix(prefix: str) -> None:
    # An empty prefix would be every tenant's files.
    if not prefix.endswith("/") or prefix.strip("/") == "":
        raise ValueError(f"a prefix to delete must name a folder ending in '/', got {prefix!r}")


class LocalFiles(FileSystemStorage):
    """Files under MEDIA_ROOT: local_copy is the file itself."""

    @contextlib.contextmanager
    def local_copy(self, name: str) -> Iterator[str]:
        path = self.path(name)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no stored file {name!r}")
        yield path

    def overwrite(self, name: str, content) -> str:
        """Write `content` at `name` exactly, replacing any file there; the name stored."""
        self.delete(name)
        return self.save(name, content)

    def delete_prefix(self, prefix: str) -> None:
        """Delete every file under `prefix` (a folder's name ending in "/")."""
        _check_prefix(prefix)
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.path(prefix))

    def size_of_prefix(self, prefix: str) -> int:
        """The bytes of every file under `prefix`, a walk of its folder."""
        return sum(
            os.path.getsize(os.path.join(folder, name))
            for folder, _, files in os.walk(self.path(prefix))
            for name in files
        )


class S3Bucket(S3Storage):
    """A bucket (and key prefix: `location`) of an S3-compatible store, through boto3."""

    def __init__(self, **options):
        self._options = options
        super().__init__(**options)

    @property
    def connection(self):
        fresh = getattr(self._connections, "connection", None) is None
        connection = super().connection
        if fresh:
            connection.meta.client.meta.events.register(
                "before-sign.s3.DeleteObjects", _content_md5, unique_id="loupe-content-md5"
            )
        return connection

    def reader_for(self, bucket: str) -> S3Bucket:
        """The same store and credentials, for another bucket, with keys taken whole."""
        return S3Bucket(**{**self._options, "bucket_name": bucket, "location": ""})

    @contextlib.contextmanager
    def local_copy(self, name: str) -> Iterator[str]:
        """The object downloaded to a temporary file (deleted after the block), streamed in
        parts rather than held in memory. Raises FileNotFoundError for a missing object."""
        key = self._normalize_name(clean_name(name))
        with tempfile.NamedTemporaryFile(suffix=PurePosixPath(name).suffix) as local:
            try:
                self.bucket.download_fileobj(key, local, Config=self.transfer_config)
            except ClientError as exc:
                if exc.response["Error"]["Code"] in ("404", "NoSuchKey"):
                    raise FileNotFoundError(f"no stored file {name!r}") from exc
                raise
            local.flush()
            yield local.name

    def overwrite(self, name: str, content) -> str:
        """Write `content` at `name` exactly, replacing any object there; the name stored."""
        return self.save(name, content)

    def delete_prefix(self, prefix: str) -> None:
        """Delete every object under `prefix` (a folder's name ending in "/"), a thousand a
        request."""
        _check_prefix(prefix)
        client = self.connection.meta.client
        for page in self._pages_under(prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", ())]
            for start in range(0, len(keys), _DELETE_BATCH):
                answer = client.delete_objects(
                    Bucket=self.bucket_name,
                    Delete={"Objects": keys[start : start + _DELETE_BATCH], "Quiet": True},
                )
                if answer.get("Errors"):
                    first = answer["Errors"][0]
                    raise OSError(
                        f"{len(answer['Errors'])} objects under {prefix!r} were not deleted, "
                        f"such as {first['Key']!r}: {first['Code']}"
                    )

    def size_of_prefix(self, prefix: str) -> int:
        """The bytes of every object under `prefix`, listed a thousand keys a request."""
        return sum(
            item["Size"] for page in self._pages_under(prefix) for item in page.get("Contents", ())
        )

    def _pages_under(self, prefix: str) -> Iterator[dict]:
        client = self.connection.meta.client
        return client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket_name, Prefix=self._normalize_name(clean_name(prefix))
        )


def _content_md5(request, **_) -> None:
    """DeleteObjects must carry a checksum. Current botocore sends a CRC32 one, which
    servers such as s3proxy refuse (NotImplemented); Content-MD5, which S3 has always taken,
    is sent instead."""
    for header in list(request.headers):
        if header.lower().startswith(("x-amz-checksum-", "x-amz-sdk-checksum-")):
            del request.headers[header]
    digest = hashlib.md5(request.body, usedforsecurity=False).digest()
    request.headers["Content-MD5"] = base64.b64encode(digest).decode()
