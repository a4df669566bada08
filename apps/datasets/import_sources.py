"""Where an import's file is: an upload in storage, a file under IMPORT_ROOT, or an object an
`s3://bucket/key` URI names. Each is checked when the import is asked for, so that a tenant
reads only its own files:

- a path: inside the tenant's folder of IMPORT_ROOT (`<IMPORT_ROOT>/<schema>/...`);
- an s3:// URI: under the tenant's own prefix of the platform's bucket
  (`s3://<bucket>/<location>/<schema>/...`) or under one of IMPORT_S3_PREFIXES with the
  tenant's schema put in (`s3://lake/loupe/<schema>/...`); its key may hold no `.`, `..` or
  empty segment (a server or a storage layer could resolve them into another tenant's
  prefix). It is read with the platform's own credentials, so a URI elsewhere is refused
  (403 source_not_allowed) before anything is asked of the store.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.storage import default_storage

from apps.datasets.errors import DatasetErrorCode
from apps.datasets.models import ImportJob
from loupe.api.errors import ApiError
from loupe.storage.backends import S3Bucket
from loupe.storage.config import SCHEMA, own_prefix, split_s3_uri
from loupe.storage.files import local_copy
from tenants.activation import active_schema


def _refused(status: int, code: DatasetErrorCode, detail: str, problem: str) -> ApiError:
    return ApiError(status=status, code=code, detail=detail, fields={"source_uri": [problem]})


def checked_source(source_uri: str) -> str:
    """The file a `source_uri` names (what ImportJob.file_name keeps), once the tenant may
    read it and it is there. Raises ApiError: 400 for a malformed, unsafe or missing source,
    403 for an s3:// object outside the tenant's prefixes."""
    if source_uri.startswith("s3://"):
        return _checked_object(source_uri)
    return str(_checked_path(source_uri))


@contextlib.contextmanager
def local_source(job: ImportJob) -> Iterator[str]:
    """The job's file as a local path, for as long as the block runs: an upload or an
    s3:// object is downloaded when storage is remote."""
    if not job.source_uri:
        with local_copy(job.file_name) as path:
            yield path
    elif job.file_name.startswith("s3://"):
        bucket, key = split_s3_uri(job.file_name)
        with local_copy(key, storage=default_storage.reader_for(bucket)) as path:
            yield path
    else:
        yield job.file_name


def _checked_path(source_uri: str) -> Path:
    # Each tenant reads only its own folder of the import root.
    root = (Path(settings.IMPORT_ROOT) / active_schema()).resolve()
    path = (root / source_uri.removeprefix("file://").lstrip("/")).resolve()
    if not path.is_relative_to(root):
        raise _refused(
            400,
            DatasetErrorCode.INVALID_SOURCE,
            "source_uri must be a path inside the tenant's folder of the import root.",
            "outside",
        )
    try:
        found = path.is_file()
    except OSError:  # a name too long for the file system, say
        found = False
    if not found:
        raise _refused(
            400,
            DatasetErrorCode.SOURCE_NOT_FOUND,
            f"No file {source_uri!r} under the import root.",
            "not found",
        )
    return path


def _checked_object(source_uri: str) -> str:
    if not isinstance(default_storage, S3Bucket):
        raise _refused(
            400,
            DatasetErrorCode.INVALID_SOURCE,
            "s3:// sources need S3 storage, and this deployment stores files locally.",
            "s3 not configured",
        )
    try:
        bucket, key = split_s3_uri(source_uri)
    except ValueError as exc:
        raise _refused(
            400, DatasetErrorCode.INVALID_SOURCE, str(exc), "not s3://bucket/key"
        ) from None
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise _refused(
            400,
            DatasetErrorCode.INVALID_SOURCE,
            "An s3:// source's key may hold no '.', '..' or empty segment.",
            "unsafe key",
        )
    uri = f"s3://{bucket}/{key}"
    if not any(uri.startswith(prefix) for prefix in _tenant_prefixes()):
        raise _refused(
            403,
            DatasetErrorCode.SOURCE_NOT_ALLOWED,
            "An s3:// source must lie under this tenant's own prefixes: "
            f"{', '.join(_tenant_prefixes())}.",
            "not allowed",
        )
    try:
        found = default_storage.reader_for(bucket).exists(key)
    except ClientError as exc:
        raise _refused(
            400,
            DatasetErrorCode.INVALID_SOURCE,
            f"The object could not be read ({exc.response['Error'].get('Code', 'error')}).",
            "unreadable",
        ) from exc
    if not found:
        raise _refused(
            400, DatasetErrorCode.SOURCE_NOT_FOUND, f"No object {source_uri!r}.", "not found"
        )
    return uri


def _tenant_prefixes() -> list[str]:
    """The s3:// prefixes the active tenant may import from: its own in the platform's
    bucket, and IMPORT_S3_PREFIXES, each with its schema put in."""
    own = own_prefix(bucket=default_storage.bucket_name, location=default_storage.location)
    schema = active_schema()
    return [prefix.replace(SCHEMA, schema) for prefix in [own, *settings.IMPORT_S3_PREFIXES]]
