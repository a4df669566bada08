"""Row ids stored compactly: sorted, delta-encoded as 64-bit integers, then zlib-compressed.

Ids of one dataset are mostly consecutive, so the deltas are mostly 1 and a million ids take
a few kilobytes. Both directions run in C (array, zlib, itertools).
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterable
from itertools import accumulate, pairwise

import numpy as np


def encode(ids: Iterable[int]) -> bytes:
    ordered = sorted(ids)
    deltas = array("q", ordered[:1])
    deltas.extend(b - a for a, b in pairwise(ordered))
    return zlib.compress(deltas.tobytes(), 6)


def decode(blob: bytes) -> list[int]:
    deltas = array("q")
    deltas.frombytes(zlib.decompress(bytes(blob)))
    return list(accumulate(deltas))


def decode_array(blob: bytes) -> np.ndarray:
    """The ids as one int64 array: 8 bytes an id, where a list of ints takes 36."""
    return np.cumsum(np.frombuffer(zlib.decompress(bytes(blob)), dtype=np.int64))
