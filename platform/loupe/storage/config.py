"""STORAGE_URL and the S3 settings read into Django's STORAGES (pure: settings.py calls it).

Empty STORAGE_URL: files under MEDIA_ROOT. `s3://bucket` or `s3://bucket/prefix`: that
bucket, every key under the prefix, through django-storages and boto3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# S3's rules for bucket names: 3-63 lowercase letters, digits, dots and hyphens.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
SCHEMA = "{schema}"
# What an S3Bucket opens in memory; past this, its S3File spools to a temporary file.
_OPEN_IN_MEMORY_BYTES = 16 * 1024**2


@dataclass(frozen=True)
class S3Connection:
    """How to reach the store: empty values leave boto3 its own defaults (AWS's endpoint,
    its credentials chain: environment, ~/.aws, an instance role)."""

    endpoint_url: str
    region: str
    addressing_style: str
    access_key: str
    secret_key: str


def split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of `s3://bucket/key` (the key may be empty). Raises ValueError for
    anything else."""
    if not uri.startswith("s3://"):
        raise ValueError(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not _BUCKET.match(bucket):
        raise ValueError(f"{bucket!r} is not a bucket name (3-63 of a-z, 0-9, '.', '-')")
    return bucket, key


def storages_setting(*, storage_url: str, connection: S3Connection) -> dict:
    """Django's STORAGES for STORAGE_URL. Static files stay local either way (the ASGI
    server serves them). Raises ValueError for a STORAGE_URL that names no bucket."""
    static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    if not storage_url:
        return {"default": {"BACKEND": "loupe.storage.backends.LocalFiles"}, "staticfiles": static}
    try:
        bucket, prefix = split_s3_uri(storage_url)
    except ValueError as exc:
        raise ValueError(f"STORAGE_URL must be empty or s3://bucket[/prefix]: {exc}") from None
    options = bucket_options(bucket=bucket, prefix=prefix.strip("/"), connection=connection)
    return {
        "default": {"BACKEND": "loupe.storage.backends.S3Bucket", "OPTIONS": options},
        "staticfiles": static,
    }


def bucket_options(*, bucket: str, prefix: str, connection: S3Connection) -> dict:
    """django-storages' options for one bucket (and key prefix) of the store."""
    from botocore.config import Config  # boto3 is needed only when a bucket is configured

    return {
        "bucket_name": bucket,
        "location": prefix,
        "endpoint_url": connection.endpoint_url or None,
        "region_name": connection.region or None,
        "access_key": connection.access_key or None,
        "secret_key": connection.secret_key or None,
        # Every name the platform writes is new (a uuid) or meant to replace its old file
        # (a ZIP entry's media): no existence check before each write.
        "file_overwrite": True,
        "default_acl": None,
        "max_memory_size": _OPEN_IN_MEMORY_BYTES,
        "client_config": Config(
            s3={"addressing_style": connection.addressing_style},
            signature_version="s3v4",
            # Checksums only where S3 requires them: servers such as s3proxy answer the
            # optional ones current botocore sends with NotImplemented.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"mode": "standard", "max_attempts": 5},
        ),
    }


def own_prefix(*, bucket: str, location: str) -> str:
    """The s3:// prefix of a tenant's own files in the platform's bucket, with {schema}."""
    return f"s3://{bucket}/{location + '/' if location else ''}{SCHEMA}/"


def import_prefixes(values: list[str], *, storage_url: str) -> list[str]:
    """IMPORT_S3_PREFIXES, checked: each an `s3://bucket/.../{schema}/...` prefix ending in
    "/" and holding {schema} once, as a whole segment, so that each tenant gets a prefix of
    its own; and no prefix's part before {schema} begins another's (the tenant's own prefix
    in STORAGE_URL's bucket counted), so that no tenant's prefix can hold another's. Raises
    ValueError."""
    if values and not storage_url:
        raise ValueError("IMPORT_S3_PREFIXES needs STORAGE_URL to name a bucket (s3://...)")
    heads = set()
    if storage_url:
        bucket, location = split_s3_uri(storage_url)
        heads.add(own_prefix(bucket=bucket, location=location.strip("/")).split(SCHEMA)[0])
    for value in values:
        split_s3_uri(value)
        head, _, tail = value.partition(SCHEMA)
        if not (head.endswith("/") and (tail == "/" or tail.startswith("/"))) or SCHEMA in tail:
            raise ValueError(
                f"IMPORT_S3_PREFIXES: {value!r} must hold {SCHEMA} once, as a whole segment"
            )
        if not value.endswith("/"):
            raise ValueError(f"IMPORT_S3_PREFIXES: {value!r} must end with '/'")
        for other in heads:
            if head != other and (head.startswith(other) or other.startswith(head)):
                raise ValueError(
                    f"IMPORT_S3_PREFIXES: {value!r} overlaps {other}{SCHEMA}/: one tenant's "
                    "prefix could hold another's objects"
                )
        heads.add(head)
    return values
