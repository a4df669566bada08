"""Row ids stored compactly in one blob: sorted, delta-encoded as 64-bit integers, then
zlib-compressed. A training run keeps its train and validation rows so; a snapshot keeps its
ids in blocks instead (id_blocks.py), so that a page decodes only the ids it shows.

Ids of one dataset are mostly consecutive, so the deltas are mostly 1 and a million ids take
a few kilobytes. Both directions run in C (array, zlib, itertools).
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterable
from itertools import accumulate, pairwise


def encode(ids: Iterable[int]) -> bytes:
    ordered = sorted(ids)
    deltas = array("q", ordered[:1])
    deltas.extend(b - a for a, b in pairwise(ordered))
    return zlib.compress(deltas.tobytes(), 6)


def decode(blob: bytes) -> list[int]:
    deltas = array("q")
    deltas.frombytes(zlib.decompress(bytes(blob)))
    return list(accumulate(deltas))
