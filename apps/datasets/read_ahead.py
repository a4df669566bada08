"""Reading ahead: a background thread computes the next items of an iterator while the
caller works on the current one.

A ZIP import stores and stages its next batches on it while the database writes the current
one (psycopg lets go of the GIL while it waits on Postgres); the other formats' imports read
the batches their staging process sends (staging_process.py) on it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def read_ahead(items: Iterable[T], *, depth: int) -> Iterator[T]:
    """The items of `items`, in order, each computed up to `depth` items before the caller
    asks for it: memory holds at most `depth` items ahead. What `items` raises is raised
    here, where the caller asks for that item. When the caller stops early, the items not
    yet asked for are dropped and `items` is closed (a generator runs its `finally`)."""
    if depth < 1:
        raise ValueError(f"depth must be 1 or more, got {depth}")
    iterator = iter(items)
    # One thread: every step of the iterator, and its closing, runs there in turn.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead") as pool:
        pending = deque(pool.submit(next, iterator, _DONE) for _ in range(depth))
        try:
            while (item := pending.popleft().result()) is not _DONE:
                pending.append(pool.submit(next, iterator, _DONE))
                yield item
        finally:
            for future in pending:
                future.cancel()
            close = getattr(iterator, "close", None)
            if close is not None:
                pool.submit(close).result()
