"""Channels groups are per tenant: every group name starts with the tenant's schema."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading

from channels.layers import get_channel_layer
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Channels allows ASCII letters, digits, hyphens, underscores and periods in group names.
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def group_name(schema_name: str, *parts: str) -> str:
    """`<schema>.<part>...`, e.g. `acme.events` or `acme.import.42`."""
    return ".".join(_UNSAFE.sub("-", part) for part in (schema_name, *parts))[:99]


class _Publisher:
    """One event loop, on a thread of its own, sends this process's live events in the order
    they were published. The channel layer's Redis connections belong to a loop, so they stay
    open across events instead of being made anew for each (3 ms an event from sync code,
    measured: a training run publishes several a second). Events still queued when the
    process ends are lost, as live events may be: what followers must not miss is stored
    (job events), and they fill a gap from the store."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.queue: asyncio.Queue = asyncio.Queue()
        self.loop.create_task(self._drain())
        threading.Thread(target=self.loop.run_forever, name="live-events", daemon=True).start()

    def send(self, group: str, message: dict) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, (group, message))

    async def _drain(self) -> None:
        layer = get_channel_layer()
        while True:
            group, message = await self.queue.get()
            try:
                await layer.group_send(group, message)
            except (RedisError, OSError):
                logger.warning("live event not published", extra={"group": group})


_publisher: _Publisher | None = None
_publisher_lock = threading.Lock()


def _live_publisher() -> _Publisher:
    """This process's publisher; a forked child (a pool process) starts its own."""
    global _publisher
    with _publisher_lock:
        if _publisher is None or _publisher.pid != os.getpid():
            _publisher = _Publisher()
        return _publisher


def publish(schema_name: str, *parts: str, event: dict, handler: str = "relay") -> None:
    """Send `event` to the tenant's group named by `parts` (from sync code), to be handled by
    the consumers' `handler` method. Live events are best-effort and sent in the background:
    a channel layer that is down is logged, never fails or slows the caller's work."""
    _live_publisher().send(group_name(schema_name, *parts), {"type": handler, "event": event})
