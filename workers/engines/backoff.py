"""Out-of-memory backoff: the batch is halved and the step retried, down to one sample."""

from __future__ import annotations

import torch


def is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError | MemoryError)


def next_batch_size(current: int) -> int | None:
    """Half of `current` (rounded down), or None when `current` is 1 already."""
    return current // 2 if current > 1 else None


class OutOfMemoryAtFloor(Exception):
    """Out of memory with a batch of one: nothing smaller is left to try."""
