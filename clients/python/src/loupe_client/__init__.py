"""Loupe's Python SDK: `Client` for a tenant's API, and the errors it raises.

    from loupe_client import Client, NotFound

    with Client("http://acme.localhost:8000", api_key="lk_...") as loupe:
        job = loupe.imports.wait(loupe.imports.upload(3, "rows.jsonl"), progress=True)

docs/sdk.md has every call.
"""

from loupe_client.client import Client
from loupe_client.errors import (
    ApiError,
    AuthenticationError,
    Conflict,
    ConnectionFailed,
    LoupeError,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    ValidationError,
    WaitTimeout,
)

__all__ = [
    "ApiError",
    "AuthenticationError",
    "Client",
    "Conflict",
    "ConnectionFailed",
    "LoupeError",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "ServerError",
    "ValidationError",
    "WaitTimeout",
]
