"""Reading one large JSON object a value at a time, with the standard library alone.

A COCO file is a single document, often hundreds of megabytes. `TopLevelArrays` walks its
top-level object and hands out the items of the arrays it is asked for one by one, decoding
each with the C-accelerated `json` decoder; nothing larger than one item is ever held.
`TopLevelArray` does the same for a document that is one array (COCO results).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Iterator
from typing import TextIO

CHUNK_CHARS = 64 * 1024
MAX_VALUE_CHARS = 16 * 1024 * 1024

_WHITESPACE = re.compile(r"[ \t\n\r]*")
# How close to the end of what is buffered a decoding error must be to mean "cut short".
_CUT_SHORT_MARGIN = 8


class JsonStreamError(ValueError):
    """The document is not a JSON object of the expected shape, or not JSON at all."""


class TopLevelArrays:
    """Iterates (key, index, item) over the items of the arrays under `keys` in a document's
    top-level object, in document order; other members are decoded one at a time and
    dropped. After a full iteration, `found` holds the keys that were present.

    Raises JsonStreamError when the document is not a JSON object, a member under `keys` is
    not an array or appears twice, one value is longer than `max_value_chars`, or the JSON
    is malformed.
    """

    def __init__(
        self, stream: TextIO, keys: Collection[str], *, max_value_chars: int = MAX_VALUE_CHARS
    ):
        self._cursor = _Cursor(stream, max_value_chars)
        self._keys = keys
        self.found: set[str] = set()

    def __iter__(self) -> Iterator[tuple[str, int, object]]:
        cursor = self._cursor
        if cursor.peek() != "{":
            raise JsonStreamError("the document is not a JSON object {...}")
        cursor.advance()
        closing = cursor.peek() == "}"
        while not closing:
            if cursor.peek() != '"':
                raise cursor.error("expected a key in double quotes")
            key = cursor.value()
            cursor.expect(":")
            if key in self._keys:
                if key in self.found:
                    raise JsonStreamError(f'"{key}" appears more than once')
                self.found.add(key)
                yield from self._items(key)
            else:
                cursor.value()
            closing = cursor.peek() == "}"
            if not closing:
                cursor.expect(",")
        cursor.advance()
        if cursor.peek():
            raise cursor.error("unexpected data after the end of the document")

    def _items(self, key: str) -> Iterator[tuple[str, int, object]]:
        if self._cursor.peek() != "[":
            raise JsonStreamError(f'"{key}" must be an array [...]')
        for index, item in _array_items(self._cursor):
            yield key, index, item


class TopLevelArray:
    """Iterates (index, item) over the items of a document that is one JSON array.

    Raises JsonStreamError when the document is not a JSON array, one item is longer than
    `max_value_chars`, or the JSON is malformed.
    """

    def __init__(self, stream: TextIO, *, max_value_chars: int = MAX_VALUE_CHARS):
        self._cursor = _Cursor(stream, max_value_chars)

    def __iter__(self) -> Iterator[tuple[int, object]]:
        cursor = self._cursor
        if cursor.peek() != "[":
            raise JsonStreamError("the document is not a JSON array [...]")
        yield from _array_items(cursor)
        if cursor.peek():
            raise cursor.error("unexpected data after the end of the document")


def _array_items(cursor: _Cursor) -> Iterator[tuple[int, object]]:
    """(index, item) for the array whose "[" is the cursor's next character."""
    cursor.advance()
    if cursor.peek() == "]":
        cursor.advance()
        return
    index = 0
    while True:
        yield index, cursor.value()
        index += 1
        if cursor.peek() == "]":
            cursor.advance()
            return
        cursor.expect(",")


class _Cursor:
    """A position in a text stream, with as much of it buffered as the current value needs."""

    def __init__(self, stream: TextIO, max_value_chars: int):
        self._stream = stream
        self._max_value_chars = max_value_chars
        self._decoder = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)
        self._buffer = ""
        self._pos = 0
        self._offset = 0  # characters dropped from the front of the buffer so far
        self._eof = False

    def peek(self) -> str:
        """The next character that is not whitespace, or "" at the end of the document."""
        while True:
            self._pos = _WHITESPACE.match(self._buffer, self._pos).end()
            if self._pos < len(self._buffer):
                return self._buffer[self._pos]
            if not self._read(CHUNK_CHARS):
                return ""

    def advance(self) -> None:
        self._pos += 1

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.error(f"expected {char!r}")
        self._pos += 1

    def value(self) -> object:
        """Decodes the value that starts here, reading more of the stream until it is whole."""
        self.peek()
        while True:
            pending = len(self._buffer) - self._pos
            try:
                value, end = self._decoder.raw_decode(self._buffer, self._pos)
            except json.JSONDecodeError as error:
                if self._eof or not self._cut_short(error):
                    raise JsonStreamError(
                        f"invalid JSON at character {self._offset + error.pos + 1}: {error.msg}"
                    ) from None
            else:
                if end - self._pos > self._max_value_chars:
                    break
                # A number at the very end of the buffer may go on in the next chunk.
                if end < len(self._buffer) or self._eof:
                    self._pos = end
                    return value
            if pending > self._max_value_chars:
                break
            # Doubling what is buffered keeps the re-decoding linear in the value's size.
            self._read(max(CHUNK_CHARS, pending))
        raise self.error(f"a value is longer than {self._max_value_chars} characters")

    def error(self, message: str) -> JsonStreamError:
        return JsonStreamError(f"{message} at character {self._offset + self._pos + 1}")

    def _cut_short(self, error: json.JSONDecodeError) -> bool:
        return (
            error.msg.startswith("Unterminated string")
            or error.pos >= len(self._buffer) - _CUT_SHORT_MARGIN
        )

    def _read(self, size: int) -> bool:
        if self._eof:
            return False
        self._offset += self._pos
        self._buffer = self._buffer[self._pos :]
        self._pos = 0
        chunk = self._stream.read(size)
        if not chunk:
            self._eof = True
            return False
        self._buffer += chunk
        return True


def _reject_constant(name: str) -> None:
    raise JsonStreamError(f"{name} is not valid JSON; use a finite number or null")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise JsonStreamError(f"{text} is too large a number; the largest is about 1.8e308")
    return value
