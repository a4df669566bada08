"""Staging in processes of their own: an import's next batches are parsed, checked and
turned into COPY lines by child processes while the worker writes the current one.

A thread would share the worker's GIL, and parsing holds it nearly all the time: the writer's
own Python work (the COPY text, the ids Postgres returns) then waits for it, and the cores
are never all busy. The children are forked from the worker, so they start in milliseconds
with everything loaded; they never touch the database (the connections they inherit are left
alone, and they leave with `os._exit`, so nothing of the worker's is closed or flushed from
them). Each child computes one stream of batches, in order; they come back pickled through
a pipe a child and are merged in order here. What a child raises is raised here when its
stream is next read. The children die with the worker (PR_SET_PDEATHSIG), so a worker killed
mid-import leaves no process behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import heapq
import os
import pickle
import signal
import sys
from collections.abc import Iterable, Iterator, Sequence
from operator import itemgetter
from typing import Any, BinaryIO, TypeVar

from apps.datasets.read_ahead import read_ahead

T = TypeVar("T")
_ITEM, _RAISED, _DONE = "item", "raised", "done"
_PR_SET_PDEATHSIG = 1


class StagingProcessLost(RuntimeError):
    """A child ended without saying so: killed (for memory, say) or crashed."""


def staged_in_processes(streams: Sequence[Iterable[tuple[Any, T]]], *, depth: int) -> Iterator[T]:
    """The values of every stream's (key, value) pairs, merged in key order (each stream is
    in that order already), each stream computed in a forked child: at most `depth` values
    are held ahead on this side (read_ahead) beside one a stream, and each pipe holds its
    child back beyond that. When the caller stops early, the children are killed."""
    parent = os.getpid()
    children: list[int] = []
    with contextlib.ExitStack() as stack:
        stack.callback(_reap, children)  # last, once the pipes are closed
        pipes: list[BinaryIO] = []
        for stream in streams:
            read_end, write_end = os.pipe()
            child = os.fork()
            if child == 0:
                for fd in [*(pipe.fileno() for pipe in pipes), read_end]:  # not its to read
                    os.close(fd)
                _serve(stream, write_end, parent)  # never returns
            os.close(write_end)
            children.append(child)
            pipes.append(stack.enter_context(os.fdopen(read_end, "rb")))
        received = [_received(pipe) for pipe in pipes]
        merged = heapq.merge(*received, key=itemgetter(0)) if len(received) > 1 else received[0]
        ahead = read_ahead((value for _, value in merged), depth=depth)
        try:
            # Not `yield from`: it would close `ahead` (and wait on the pipes) before the kill.
            for value in ahead:  # noqa: UP028
                yield value
        finally:
            # Killed first: a read waiting on a pipe then ends at once.
            _kill(children)
            ahead.close()


def _kill(children: list[int]) -> None:
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


def _reap(children: list[int]) -> None:
    _kill(children)  # when forking the next child failed, say
    for child in children:
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
            raise StagingProcessLost("an import's staging process ended unexpectedly") from None
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
