"""Writing documents to Elasticsearch in bulk: NDJSON built with orjson, one request per
chunk, and every item's outcome checked (a bulk request succeeds even when items fail)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import orjson

from search.client import elasticsearch_client
from search.documents import row_document


class BulkFailed(Exception):
    """Elasticsearch refused some items; nothing may be taken as indexed."""


def _line(value: dict) -> bytes:
    return orjson.dumps(value) + b"\n"


def index_operations(
    index: str, rows: Iterable[dict], *, deleted_ids: Sequence[int] = (), create_only=False
) -> bytes:
    """NDJSON for `rows` (as search.loading reads them) and deletions of `deleted_ids`.
    `create_only` writes a document only where none is: what a reindex uses, so a newer
    document the outbox already wrote is never replaced by an older read."""
    action = "create" if create_only else "index"
    parts = []
    for row in rows:
        parts.append(_line({action: {"_index": index, "_id": row["id"]}}))
        parts.append(_line(row_document(row)))
    parts.extend(_line({"delete": {"_index": index, "_id": row_id}}) for row_id in deleted_ids)
    return b"".join(parts)


def send(body: bytes, *, refresh: bool = False, require_alias: bool = False) -> dict[int, str]:
    """Send one bulk body. Returns the documents Elasticsearch refused for good (a 4xx other
    than 429: the document itself is wrong), by row id with the reason. Raises BulkFailed when
    an item failed for a reason that may pass (429, 5xx): the caller retries the whole body.
    A delete of a missing document and a create of an existing one are not failures."""
    if not body:
        return {}
    response = elasticsearch_client().bulk(
        operations=body, refresh=refresh, require_alias=require_alias
    )
    if not response["errors"]:
        return {}
    refused, transient = {}, []
    for item in response["items"]:
        for op, outcome in item.items():
            error, status = outcome.get("error"), outcome["status"]
            if not error or _harmless(op, status):
                continue
            # A missing index (the alias not there yet) is not the document's fault.
            permanent = 400 <= status < 500 and status != 429
            if permanent and error.get("type") != "index_not_found_exception":
                refused[int(outcome["_id"])] = f"{error.get('type')}: {error.get('reason')}"
            else:
                transient.append(error)
    if transient:
        raise BulkFailed(f"{len(transient)} items failed, first: {transient[0]}")
    return refused


def _harmless(op: str, status: int) -> bool:
    return (op == "delete" and status == 404) or (op == "create" and status == 409)
