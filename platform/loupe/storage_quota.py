"""A tenant's storage quota (`storage_bytes`, tenants/quotas.py): the bytes it has stored,
and what stops a write past them. Everything stored under the tenant's prefix counts: its
rows' media, the uploads waiting for their imports, checkpoints and models.

An upload is refused before the view reads its body when its Content-Length is past what
the tenant has left (`check_upload_fits`): nothing of it is parsed or stored, and no job is
recorded. Under the ASGI server, loupe.upload_gate refuses it earlier still, before Django's
handler would read the body into a temporary file. A ZIP import's images are counted as they
are written (`StorageBudget`).
"""

from __future__ import annotations

from loupe.api.errors import ApiError
from loupe.storage.files import size_of_prefix
from tenants.activation import active_schema
from tenants.quotas import QuotaError, QuotaReached, limits_for

_WHAT_TO_DO = (
    "Delete what the tenant no longer needs (datasets, models), or ask an operator to raise "
    "its storage quota."
)


def stored_bytes(schema: str | None = None) -> int:
    """The bytes stored under the tenant's prefix (the active one's by default), counted now:
    a walk of its folder, or a listing of its keys in the bucket (a thousand a request)."""
    return size_of_prefix(f"{schema or active_schema()}/")


def storage_left(schema: str) -> tuple[int, int]:
    """The tenant's bytes stored, and its storage quota."""
    return stored_bytes(schema), limits_for(schema).storage_bytes


def upload_refusal(used: int, limit: int, size: int, *, announced: bool = True) -> ApiError:
    """The 413 for an upload of `size` bytes (its Content-Length, or, for a body sent without
    one, what had arrived when it passed what the tenant has left)."""
    upload = f"is {size:,} bytes" if announced else f"passed that at {size:,} bytes"
    return ApiError(
        status=413,
        code=QuotaError.STORAGE,
        detail=(
            f"This upload would take the tenant past its storage quota: it stores "
            f"{used:,} of its {limit:,} bytes ({max(limit - used, 0):,} left), and the "
            f"upload {upload}. {_WHAT_TO_DO}"
        ),
        fields={"file": ["past the tenant's storage quota"]},
        extra={"storage_bytes": {"used": used, "limit": limit}},
    )


def check_upload_fits(request) -> None:
    """Refuse a multipart upload that would take the active tenant past its storage quota
    (ApiError 413 storage_quota_exceeded), before its body is read. Django reads no body
    past its Content-Length, so that is the most it can store: the file and the few hundred
    bytes of the form around it. Call it before the view first reads `request.data`."""
    if not request.content_type.startswith("multipart/"):
        return  # a JSON request names its source; nothing of it is stored
    announced = int(request.META.get("CONTENT_LENGTH") or 0)
    used, limit = storage_left(active_schema())
    if used + announced > limit:
        raise upload_refusal(used, limit, announced)


class StorageBudget:
    """What the active tenant may still store, counted when made and taken from as one
    writer stores its files (an import's staging thread, which never touches the database:
    the limit is read here, before)."""

    def __init__(self):
        self.limit = limits_for(active_schema()).storage_bytes
        self.used = stored_bytes()

    def take(self, size: int) -> None:
        """Count `size` more bytes stored; raises QuotaReached, counting nothing, when they
        would take the tenant past its quota."""
        if self.used + size > self.limit:
            raise QuotaReached(
                QuotaError.STORAGE,
                f"the tenant's storage quota is reached: it stores {self.used:,} of its "
                f"{self.limit:,} bytes, and the next file is {size:,} bytes. {_WHAT_TO_DO}",
            )
        self.used += size
