"""Channels groups are per tenant: every group name starts with the tenant's schema."""

from __future__ import annotations

import logging
import re

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Channels allows ASCII letters, digits, hyphens, underscores and periods in group names.
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def group_name(schema_name: str, *parts: str) -> str:
    """`<schema>.<part>...`, e.g. `acme.events` or `acme.import.42`."""
    return ".".join(_UNSAFE.sub("-", part) for part in (schema_name, *parts))[:99]


def publish(schema_name: str, *parts: str, event: dict, handler: str = "relay") -> None:
    """Send `event` to the tenant's group named by `parts` (from sync code), to be handled by
    the consumers' `handler` method. Live events are best-effort: a channel layer that is down
    is logged, never fails the caller's work."""
    try:
        async_to_sync(get_channel_layer().group_send)(
            group_name(schema_name, *parts), {"type": handler, "event": event}
        )
    except (RedisError, OSError):
        logger.warning("live event not published", extra={"group": group_name(schema_name, *parts)})
