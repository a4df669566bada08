"""The S3 server the tests use: the one S3_ENDPOINT_URL names, or scripts/services.sh's own
(and its keys) for a run that has not exported the script's `env`, as `make test` does not."""

from __future__ import annotations

import boto3
from django.conf import settings

from loupe.storage.config import S3Connection, bucket_options

# scripts/services.sh's S3_PORT, S3_IDENTITY and S3_CREDENTIAL.
LOCAL_ENDPOINT = "http://127.0.0.1:59000"
LOCAL_KEYS = ("loupe-local", "loupe-local-secret")


def connection() -> S3Connection:
    """The server S3_ENDPOINT_URL names, with the keys the settings give; with none named,
    the local server with its own keys (never those keys sent to another server)."""
    endpoint, key, secret = LOCAL_ENDPOINT, *LOCAL_KEYS
    if settings.S3_ENDPOINT_URL:
        endpoint = settings.S3_ENDPOINT_URL
        key, secret = settings.AWS_ACCESS_KEY_ID, settings.AWS_SECRET_ACCESS_KEY
    return S3Connection(
        endpoint_url=endpoint,
        region=settings.S3_REGION,
        addressing_style=settings.S3_ADDRESSING_STYLE,
        access_key=key,
        secret_key=secret,
    )


def client(bucket: str, server: S3Connection | None = None):
    """A boto3 client of the server, configured as the platform's storage of `bucket` is."""
    options = bucket_options(bucket=bucket, prefix="", connection=server or connection())
    return boto3.client(
        "s3",
        endpoint_url=options["endpoint_url"],
        region_name=options["region_name"],
        aws_access_key_id=options["access_key"],
        aws_secret_access_key=options["secret_key"],
        config=options["client_config"],
    )
