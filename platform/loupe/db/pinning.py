"""Read-your-writes: once a request or task has written, its reads stay on the primary.

The pin lives in a contextvar (not a thread-local) so concurrent ASGI requests, which may
share a thread, never see each other's pin.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_pinned: ContextVar[bool] = ContextVar("pinned_to_primary", default=False)
_used_replica: ContextVar[bool] = ContextVar("used_replica", default=False)
_read_only: ContextVar[bool] = ContextVar("read_only_request", default=False)
_wrote: ContextVar[bool] = ContextVar("wrote", default=False)


def pin_to_primary() -> None:
    _pinned.set(True)


def note_write() -> None:
    _wrote.set(True)
    _pinned.set(True)


def wrote() -> bool:
    return _wrote.get()


def unpin_read_only_request() -> None:
    """A POST that only reads (a search, whose query is too large for a URL) may read from
    the replica like a GET, and be answered again from the primary like one when the replica
    fails. Call it before the request writes anything."""
    _pinned.set(False)
    _read_only.set(True)


def is_read_only_request() -> bool:
    return _read_only.get()


def is_pinned() -> bool:
    return _pinned.get()


def note_replica_read() -> None:
    _used_replica.set(True)


def used_replica() -> bool:
    return _used_replica.get()


def start_unpinned() -> None:
    """Start a new unit of work in the current context (a Celery task)."""
    _pinned.set(False)
    _used_replica.set(False)
    _read_only.set(False)
    _wrote.set(False)


@contextmanager
def unit_of_work() -> Iterator[None]:
    """One request or task: starts unpinned, and leaves no pin behind."""
    pin_token = _pinned.set(False)
    replica_token = _used_replica.set(False)
    read_only_token = _read_only.set(False)
    wrote_token = _wrote.set(False)
    try:
        yield
    finally:
        _wrote.reset(wrote_token)
        _pinned.reset(pin_token)
        _used_replica.reset(replica_token)
        _read_only.reset(read_only_token)
