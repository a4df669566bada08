"""Staging in a process of its own: an import's next batches are parsed, checked and turned
into COPY lines by a child process while the worker writes the current one to Postgres.

A thread would share the worker's GIL, and parsing holds it nearly all the time: the writer's
own Python work (the COPY text, the ids Postgres returns) then waits for it, and the two
cores are never both busy. The child is forked from the worker, so it starts in
milliseconds with everything loaded; it never touches the database (the connections it
inherits are left alone, and it leaves with `os._exit`, so nothing of the worker's is closed
or flushed from it). Batches come back pickled through a pipe, in order; what the child
raises is raised where the worker asks for the batch it was making. The child dies with the
worker (PR_SET_PDEATHSIG), so a worker killed mid-import leaves no process behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import signal
import sys
from collections.abc import Iterable, Iterator
from typing import BinaryIO, TypeVar

from apps.datasets.read_ahead import read_ahead

T = TypeVar("T")
_ITEM, _RAISED, _DONE = "item", "raised", "done"
_PR_SET_PDEATHSIG = 1


class StagingProcessLost(RuntimeError):
    """The child ended without saying so: killed (for memory, say) or crashed."""


def staged_in_process(items: Iterable[T], *, depth: int) -> Iterator[T]:
    """The items of `items`, in order, computed in a forked child: at most `depth` items
    are held ahead on this side (read_ahead), and the pipe holds the child back beyond
    that. When the caller stops early, the child is killed."""
    read_end, write_end = os.pipe()
    parent = os.getpid()
    child = os.fork()
    if child == 0:
        os.close(read_end)
        _serve(items, write_end, parent)  # never returns
    os.close(write_end)
    with os.fdopen(read_end, "rb") as stream:
        ahead = read_ahead(_received(stream), depth=depth)
        try:
            # Not `yield from`: it would close `ahead` (and wait on the pipe) before the kill.
            for item in ahead:  # noqa: UP028
                yield item
        finally:
            # Killed first: a read waiting on the pipe then ends at once.
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
            ahead.close()
            os.waitpid(child, 0)


def _serve(items: Iterable, fd: int, parent: int) -> None:
    """The child's whole life: each item, or what making one raised, down the pipe. A pipe
    the worker closed (it stopped early, or died) ends it the same way."""
    try:
        _die_with(parent)
        with os.fdopen(fd, "wb") as stream:
            try:
                for item in items:
                    _send(stream, _ITEM, item)
            except Exception as exc:
                _send(stream, _RAISED, _picklable(exc))
            else:
                _send(stream, _DONE, None)
    finally:
        os._exit(0)


def _send(stream: BinaryIO, kind: str, value) -> None:
    stream.write(pickle.dumps((kind, value), protocol=pickle.HIGHEST_PROTOCOL))
    stream.flush()


def _picklable(exc: Exception) -> Exception:
    try:
        pickle.dumps(exc)
    except Exception:
        return StagingProcessLost(f"the import's staging failed: {type(exc).__name__}: {exc}")
    return exc


def _received(stream: BinaryIO) -> Iterator:
    while True:
        try:
            kind, value = pickle.load(stream)
        except EOFError:
            raise StagingProcessLost("the import's staging process ended unexpectedly") from None
        if kind == _DONE:
            return
        if kind == _RAISED:
            raise value
        yield value


def _die_with(parent: int) -> None:
    """Ask Linux to kill this process when the worker that forked it dies."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the request took
        os._exit(1)
