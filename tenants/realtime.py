"""Channels groups are per tenant: every group name starts with the tenant's schema."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import re
import threading

from channels.layers import get_channel_layer
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Channels allows ASCII letters, digits, hyphens, underscores and periods in group names.
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
# Live events waiting to be sent, at most; past it new ones are dropped (and logged).
_MAX_QUEUED = 10_000


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
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=_MAX_QUEUED)
        self.loop.create_task(self._drain())
        threading.Thread(target=self.loop.run_forever, name="live-events", daemon=True).start()
        atexit.register(self.flush)

    def send(self, group: str, message: dict) -> None:
        self.loop.call_soon_threadsafe(self._put, (group, message))

    def _put(self, item) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:  # the channel layer is down or slow: shed, never grow
            logger.warning("live event dropped: too many waiting", extra={"group": item[0]})

    async def _drain(self) -> None:
        layer = get_channel_layer()
        while True:
            group, message = await self.queue.get()
            try:
                # A connection Redis dropped (a restart) is retried by the layer's pool
                # (CHANNEL_LAYERS in settings).
                await layer.group_send(group, message)
            except (RedisError, OSError):
                logger.warning("live event not published", extra={"group": group})
            except Exception:  # one bad event must not end every later one's delivery
                logger.exception("live event not published", extra={"group": group})
            finally:
                self.queue.task_done()

    def flush(self, timeout: float = 5.0) -> None:
        """Wait (a while) for the events already published to be sent: a command that
        publishes and exits sends them too."""
        if os.getpid() != self.pid:
            return
        done = asyncio.run_coroutine_threadsafe(self.queue.join(), self.loop)
        with contextlib.suppress(Exception):
            done.result(timeout)


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
