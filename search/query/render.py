"""render_query: a tree back to canonical query text, which parses to the same tree.

Error messages quote literals with it, and any query the platform writes back takes this
form, so it must round-trip exactly: `parse_query(render_query(t)) == t` for every tree the
parser can produce. Keywords are upper-cased, strings single-quoted, and parentheses are
written only where precedence needs them (NOT, then AND, then OR), so the rendering never
nests deeper than the query it came from and stays within the parser's nesting limit.
"""

from __future__ import annotations

import datetime

from search.query.tree import (
    And,
    Compare,
    Contains,
    Exists,
    Field,
    Group,
    In,
    Literal,
    Node,
    Not,
    Or,
    TextMatch,
)

# Binding strength; an operand binding less tightly than its context is parenthesised.
_OR, _AND, _NOT, _ATOM = 1, 2, 3, 4

_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def render_query(node: Node) -> str:
    """The canonical text of a checked tree."""
    return _render(node, _OR)


def render_literal(value: Literal) -> str:
    """A literal as the query language writes it."""
    # bool before int (a bool is an int) and datetime before date (a datetime is a date).
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same double
    if isinstance(value, str):
        return _render_string(value)
    if isinstance(value, datetime.datetime):
        return _render_datetime(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise TypeError(f"not a query literal: {value!r}")


def _render(node: Node, context: int) -> str:
    text, strength = _render_bare(node)
    return f"({text})" if strength < context else text


def _render_bare(node: Node) -> tuple[str, int]:
    match node:
        case Or(children):
            return " OR ".join(_render(c, _AND) for c in children), _OR
        case And(children):
            return " AND ".join(_render(c, _NOT) for c in children), _AND
        case Not(child):
            return f"NOT {_render(child, _NOT)}", _NOT
        case Group(kind, condition):
            inside = "" if condition is None else _render(condition, _OR)
            return f"{kind.value}({inside})", _ATOM
        case Compare(field, op, value):
            return f"{render_field(field)} {op.value} {render_literal(value)}", _ATOM
        case In(field, values, negated):
            keyword = "NOT IN" if negated else "IN"
            listed = ", ".join(render_literal(v) for v in values)
            return f"{render_field(field)} {keyword} ({listed})", _ATOM
        case Contains(field, value):
            return f"{render_field(field)} CONTAINS {render_literal(value)}", _ATOM
        case Exists(field):
            return f"{render_field(field)} EXISTS", _ATOM
        case TextMatch(field, words):
            return (
                f"{render_field(field)} ~ {_render_string(' '.join(_unlowered(w) for w in words))}",
                _ATOM,
            )
    raise TypeError(f"not a query node: {node!r}")


def _unlowered(word: str) -> str:
    # words_of lower-cases after splitting, and "İ".lower() is "i" + U+0307, a combining mark
    # that words_of would split on. U+0307 can reach a word only that way, so writing "İ"
    # back is what makes such a word read back as itself.
    return word.replace("i\u0307", "\u0130")


def render_field(field: Field) -> str:
    """`metadata.camera."lens id"`: keys that are not identifiers are double-quoted.

    The spelling of Field.__str__, with escapes for line breaks and other unprintable
    characters, which the parser does not accept raw inside quotes."""
    keys = (key if key.isidentifier() else _render_string(key, '"') for key in field.path)
    return ".".join((field.name, *keys))


def _render_string(value: str, quote: str = "'") -> str:
    return quote + "".join(_render_char(ch, quote) for ch in value) + quote


def _render_char(ch: str, quote: str) -> str:
    if ch == quote:
        return "\\" + quote
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if ch.isprintable():
        return ch
    code = ord(ch)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    # \uXXXX holds 16 bits: beyond them, a surrogate pair, which the parser joins again.
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _render_datetime(value: datetime.datetime) -> str:
    offset = value.utcoffset()
    if offset is None:
        value, offset = value.replace(tzinfo=datetime.UTC), datetime.timedelta(0)
    if offset % datetime.timedelta(minutes=1):
        # The language writes offsets as +HH:MM; any other offset is the same instant in UTC.
        value = value.astimezone(datetime.UTC)
        offset = datetime.timedelta(0)
    text = value.replace(tzinfo=None).isoformat()
    if not offset:
        return text + "Z"
    sign = "-" if offset < datetime.timedelta(0) else "+"
    minutes = abs(offset) // datetime.timedelta(minutes=1)
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"
