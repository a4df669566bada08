"""Sorted row ids cut into blocks of BLOCK_IDS, each packed on its own, so that a reader
decodes the blocks it needs and never the whole list.

A block keeps its position in the list, its first id, its last id and its count in the clear
(what a page looks blocks up by), and the gaps between its ids packed: each gap in the
fewest bytes that hold the block's largest (one byte where the ids are mostly consecutive,
as a dataset's are), little-endian, then zlib-compressed. The width is not stored: it is
the unpacked length over the number of gaps. Pure: numpy and zlib, no database.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

# At least a page's largest read (1,000 rows and one more, to know a next page exists), so a
# page decodes two blocks at most.
BLOCK_IDS = 1024

_WIDTHS = {1: np.dtype("<u1"), 2: np.dtype("<u2"), 4: np.dtype("<u4"), 8: np.dtype("<u8")}


@dataclass(frozen=True)
class Block:
    start: int  # the position of its first id in the whole list
    first_id: int
    last_id: int
    count: int
    deltas: bytes


def blocks_of(ids: np.ndarray) -> list[Block]:
    """`ids` (int64, sorted ascending) as blocks of BLOCK_IDS, the last one shorter."""
    blocks = []
    for start in range(0, len(ids), BLOCK_IDS):
        chunk = ids[start : start + BLOCK_IDS]
        gaps = np.diff(chunk)
        width = _width(int(gaps.max())) if len(gaps) else 1
        packed = gaps.astype(_WIDTHS[width]).tobytes()
        blocks.append(
            Block(start, int(chunk[0]), int(chunk[-1]), len(chunk), zlib.compress(packed))
        )
    return blocks


def decode(first_id: int, count: int, deltas: bytes) -> np.ndarray:
    """A block's ids, as an int64 array."""
    ids = np.empty(count, dtype=np.int64)
    ids[0] = first_id
    if count > 1:
        packed = zlib.decompress(deltas)
        gaps = np.frombuffer(packed, dtype=_WIDTHS[len(packed) // (count - 1)])
        np.cumsum(gaps, dtype=np.int64, out=ids[1:])
        ids[1:] += first_id
    return ids


def _width(largest: int) -> int:
    for width in (1, 2, 4):
        if largest < 1 << (8 * width):
            return width
    return 8
