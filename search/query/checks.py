"""What the parser checks beyond the grammar: that a field exists in its scope, that the
operator fits the field's kind, that each literal token names a usable value (a real day, a
number that fits, a string without NUL), and that the value fits field and operator.

Every check raises a QueryError at the token the person must change, with a message that
names what would be allowed there.
"""

from __future__ import annotations

import datetime
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from lark import Token

from search.query.errors import Located, QueryError, QueryErrorCode
from search.query.render import render_field, render_literal
from search.query.tree import Field, FieldKind, Literal, Scope

UNKNOWN_FIELD = QueryErrorCode.UNKNOWN_FIELD
TYPE_MISMATCH = QueryErrorCode.TYPE_MISMATCH
INVALID_VALUE = QueryErrorCode.INVALID_VALUE


@dataclass(frozen=True)
class FieldSpec:
    """A built-in field. `keyed` fields take a key path (`metadata.<key>`); `choices`, when
    set, are the only values the field can hold."""

    name: str
    kind: FieldKind
    keyed: bool = False
    choices: tuple[str, ...] = ()


ROW_FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("external_id", FieldKind.STRING),
        FieldSpec("dataset", FieldKind.DATASET),
        FieldSpec("width", FieldKind.NUMBER),
        FieldSpec("height", FieldKind.NUMBER),
        FieldSpec("created_at", FieldKind.DATETIME),
        FieldSpec("updated_at", FieldKind.DATETIME),
        FieldSpec("tags", FieldKind.TAGS),
        FieldSpec("text", FieldKind.TEXT),
        FieldSpec("metadata", FieldKind.JSON, keyed=True),
    )
}

ANNOTATION_FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("class", FieldKind.STRING),
        FieldSpec("source", FieldKind.STRING, choices=("human", "model")),
        FieldSpec("type", FieldKind.STRING, choices=("bbox", "polygon", "none")),
        FieldSpec("area", FieldKind.NUMBER),
        FieldSpec("attributes", FieldKind.JSON, keyed=True),
    )
}

# The fields of one predicted object (apps/predictions): `model` is the model's name and
# `version` its version's number. `score` is none for an evaluation's fn marker and `iou`
# where no annotated box was compared, so conditions on them never match those.
PREDICTION_FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("model", FieldKind.STRING),
        FieldSpec("version", FieldKind.NUMBER),
        FieldSpec("class", FieldKind.STRING),
        FieldSpec("score", FieldKind.NUMBER),
        FieldSpec("rank", FieldKind.NUMBER),
        FieldSpec("area", FieldKind.NUMBER),
        FieldSpec("eval", FieldKind.STRING, choices=("tp", "fp", "fn")),
        FieldSpec("iou", FieldKind.NUMBER),
    )
}

_FIELDS = {
    Scope.ROW: ROW_FIELDS,
    Scope.ANNOTATION: ANNOTATION_FIELDS,
    Scope.PREDICTION: PREDICTION_FIELDS,
}
# What a scope's fields describe, and the group that holds them.
_OWNERS = {
    Scope.ROW: "the data row",
    Scope.ANNOTATION: "an annotation",
    Scope.PREDICTION: "a predicted object",
}
_GROUPS = {Scope.ANNOTATION: "label", Scope.PREDICTION: "prediction"}

# The operators each kind accepts; NOT IN goes with IN.
_ORDERING = ("<", "<=", ">", ">=")
_OPERATORS: dict[FieldKind, tuple[str, ...]] = {
    FieldKind.STRING: ("=", "!=", "IN", "NOT IN", "~"),
    FieldKind.NUMBER: ("=", "!=", *_ORDERING, "IN", "NOT IN"),
    FieldKind.DATETIME: ("=", "!=", *_ORDERING, "IN", "NOT IN"),
    FieldKind.DATASET: ("=", "!=", "IN", "NOT IN"),
    FieldKind.TAGS: ("CONTAINS", "IN", "NOT IN"),
    FieldKind.JSON: ("=", "!=", *_ORDERING, "IN", "NOT IN", "EXISTS", "~"),
    FieldKind.TEXT: ("~",),
}

_WHAT_IT_IS: dict[FieldKind, str] = {
    FieldKind.STRING: "a string",
    FieldKind.NUMBER: "a number",
    FieldKind.DATETIME: "a date and time",
    FieldKind.DATASET: "a dataset",
    FieldKind.TAGS: "a list of tags",
    FieldKind.JSON: "a JSON value",
    FieldKind.TEXT: "a search for words in the metadata",
}

_WHAT_FITS: dict[FieldKind, str] = {
    FieldKind.STRING: "a quoted string",
    FieldKind.NUMBER: "a number",
    FieldKind.DATETIME: "a date (2024-01-31) or a datetime (2024-01-31T10:20)",
    FieldKind.DATASET: "a dataset id (a whole number) or name (a quoted string)",
    FieldKind.TAGS: "a quoted string",
    FieldKind.JSON: "a quoted string, a number, true, false or a date",
    FieldKind.TEXT: "a quoted string",
}


def field_names(scope: Scope) -> list[str]:
    """The fields written in `scope`, as a message lists them."""
    return [f"{s.name}.<key>" if s.keyed else s.name for s in _FIELDS[scope].values()]


def resolve_field(name: str, at: Located, path: tuple[str, ...], scope: Scope) -> Field:
    """The field `name.path...` as seen in `scope`, or unknown_field at its name."""
    spec = _FIELDS[scope].get(name)
    if spec is None:
        raise QueryError.at(at, UNKNOWN_FIELD, _unknown_field_message(name, path, scope))
    if spec.keyed and not path:
        message = f"write {name}.<key> to look up a key of the {name}, e.g. {name}.camera"
        raise QueryError.at(at, UNKNOWN_FIELD, message)
    if path and not spec.keyed:
        message = f"{name} has no keys: only metadata.<key> and attributes.<key> take a path"
        raise QueryError.at(at, UNKNOWN_FIELD, message)
    return Field(name, spec.kind, path)


def _unknown_field_message(name: str, path: tuple[str, ...], scope: Scope) -> str:
    homes = [other for other in Scope if other is not scope and name in _FIELDS[other]]
    if homes:
        reason = f"{name} is a field of {' or '.join(_OWNERS[h] for h in homes)}: "
        reason += _where_to_write(name, scope, homes)
    else:
        reason = f"there is no field {name}"
        same_but_case = [f for f in _FIELDS[scope] if f.lower() == name.lower()]
        close = same_but_case or difflib.get_close_matches(name, _FIELDS[scope], n=1)
        if close:
            reason += f" (did you mean {close[0]}?)"
        elif scope is Scope.ROW and not path:
            reason += f" (a metadata key is written metadata.{name})"
        elif scope is Scope.ANNOTATION and not path:
            reason += f" (an attribute is written attributes.{name})"
    return f"{reason}; the fields {_scope_text(scope)} are {', '.join(field_names(scope))}"


def _where_to_write(name: str, scope: Scope, homes: list[Scope]) -> str:
    if scope is Scope.ROW:
        return "write " + " or ".join(f"{_GROUPS[h]}({name} ...)" for h in homes)
    if homes == [Scope.ROW]:
        return f"write it outside {_GROUPS[scope]}(...)"
    # No field of a group is a row's too: the field is the other group's.
    return "write it inside " + " or ".join(f"{_GROUPS[h]}(...)" for h in homes)


def _scope_text(scope: Scope) -> str:
    if scope is Scope.ROW:
        return "outside " + " and ".join(f"{g}(...)" for g in _GROUPS.values())
    return f"inside {_GROUPS[scope]}(...)"


def check_operator(field: Field, operator: str, at: Located) -> None:
    """type_mismatch at the operator unless the field's kind takes it."""
    allowed = _OPERATORS[field.kind]
    if operator in allowed:
        return
    if field.kind is FieldKind.TAGS and operator in ("=", "!="):
        hint = "write tags CONTAINS 'x' (or NOT tags CONTAINS 'x')"
    elif field.kind is FieldKind.JSON and operator == "CONTAINS":
        hint = f"write {render_field(field)} = 'value': an array matches when any element does"
    elif field.kind is FieldKind.TEXT:
        hint = "write text ~ 'some words'"
    elif operator == "EXISTS":
        hint = "EXISTS applies to metadata.<key> and attributes.<key>"
    else:
        hint = "use " + _either(allowed)
    message = (
        f"{operator} does not apply to {render_field(field)}, {_WHAT_IT_IS[field.kind]}: {hint}"
    )
    raise QueryError.at(at, TYPE_MISMATCH, message)


def check_literal(
    field: Field, operator: str, value: Literal, at: Located, *, scope: Scope
) -> None:
    """type_mismatch or invalid_value at the literal unless it fits field and operator.
    The operator must already have passed check_operator; `scope` is where the field was
    resolved."""
    if not _fits(field.kind, operator, value):
        raise QueryError.at(at, TYPE_MISMATCH, _mismatch_message(field, operator, value))
    spec = _FIELDS[scope][field.name]
    if spec.choices and operator != "~" and value not in spec.choices:
        choices = _either(spec.choices, quoted=True)
        message = f"{render_field(field)} is {choices}, not {render_literal(value)}"
        raise QueryError.at(at, INVALID_VALUE, message)


def check_in_size(values: Sequence[Located], limit: int) -> None:
    if len(values) > limit:
        message = f"IN takes at most {limit:,} values: split the list, or search by a tag"
        raise QueryError.at(values[limit], QueryErrorCode.QUERY_TOO_COMPLEX, message)


def _fits(kind: FieldKind, operator: str, value: Literal) -> bool:
    is_bool = isinstance(value, bool)
    is_number = isinstance(value, int | float) and not is_bool
    is_instant = isinstance(value, datetime.datetime)
    is_day = isinstance(value, datetime.date) and not is_instant
    match kind:
        case FieldKind.STRING | FieldKind.TAGS | FieldKind.TEXT:
            return isinstance(value, str)
        case FieldKind.NUMBER:
            return is_number
        case FieldKind.DATETIME:
            return is_day or is_instant
        case FieldKind.DATASET:
            return isinstance(value, str) or (isinstance(value, int) and not is_bool)
        case FieldKind.JSON if operator == "~":
            return isinstance(value, str)
        case FieldKind.JSON if operator in _ORDERING:
            return isinstance(value, str) or is_number or is_day
        case FieldKind.JSON:
            return isinstance(value, str) or is_number or is_day or is_bool
    return False


def _mismatch_message(field: Field, operator: str, value: Literal) -> str:
    written = render_literal(value)
    if operator == "~":
        return f"~ searches for words: write a quoted string such as 'rainy night', not {written}"
    if field.kind is FieldKind.JSON and isinstance(value, datetime.datetime):
        day = value.date().isoformat()
        return f"{field.name} compares dates by day: write {day}, not {written}"
    if field.kind is FieldKind.JSON and isinstance(value, bool):
        return f"{operator} does not order true and false: compare them with = or !="
    if field.kind is FieldKind.TAGS and operator == "CONTAINS":
        return f"a tag is a string: write tags CONTAINS 'name', not {written}"
    return (
        f"{render_field(field)} is {_WHAT_IT_IS[field.kind]}: compare it with "
        f"{_WHAT_FITS[field.kind]}, not {written}"
    )


def _either(options: Sequence[str], *, quoted: bool = False) -> str:
    shown = [f"'{o}'" if quoted else o for o in options]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


# --- literal tokens -----------------------------------------------------------------------

_INT_RANGE = range(-(2**63), 2**63)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))?"
)
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_STRING_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r"}


def decode_key(token: Token) -> str:
    """A key of a `metadata.` / `attributes.` path: a plain name or a quoted string."""
    if token.type == "STRING":
        return _string(token)
    if not token.value.isidentifier():
        message = f'{token.value} is not a plain key name: quote it, as in "{token.value}"'
        raise QueryError.at(token, QueryErrorCode.QUERY_SYNTAX, message)
    return token.value


def decode_literal(token: Token) -> Literal:
    """The value of a literal token, or invalid_value when it names no value we can use."""
    match token.type:
        case "STRING":
            return _string(token)
        case "NUMBER":
            return _number(token)
        case "DATE":
            return _date(token)
        case "DATETIME":
            return _datetime(token)
        case "TRUE":
            return True
        case "FALSE":
            return False
    raise AssertionError(f"not a literal token: {token.type}")


def _number(token: Token) -> int | float:
    text = token.value
    if "." in text or "e" in text or "E" in text:
        value = float(text)
        if value in (float("inf"), float("-inf")):
            raise QueryError.at(token, INVALID_VALUE, f"{text} is too large for a number")
        return value
    # Length first: int() refuses texts of thousands of digits with its own error.
    if len(text.lstrip("-").lstrip("0")) > 19 or int(text) not in _INT_RANGE:
        message = f"{text} is too large for a whole number: write it as a decimal, e.g. 1e30"
        raise QueryError.at(token, INVALID_VALUE, message)
    return int(text)


def _date(token: Token) -> datetime.date:
    match = _DATE.fullmatch(token.value)
    if match is None:
        message = f"{token.value} is not a date: write dates as YYYY-MM-DD, e.g. 2024-01-31"
        raise QueryError.at(token, INVALID_VALUE, message)
    try:
        return datetime.date(*map(int, match.groups()))
    except ValueError:
        message = f"{token.value} is not a day of the calendar"
        raise QueryError.at(token, INVALID_VALUE, message) from None


def _datetime(token: Token) -> datetime.datetime:
    match = _DATETIME.fullmatch(token.value)
    if match is None:
        message = (
            f"{token.value} is not a datetime: write 2024-01-31T10:20, 2024-01-31T10:20:30 "
            "or 2024-01-31T10:20:30.123456, then optionally Z or an offset such as +02:00"
        )
        raise QueryError.at(token, INVALID_VALUE, message)
    year, month, day, hour, minute, second, fraction, _z, sign, off_h, off_m = match.groups()
    try:
        offset = datetime.timedelta(hours=int(off_h or 0), minutes=int(off_m or 0))
        zone = datetime.timezone(-offset if sign == "-" else offset)
        value = datetime.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")),
            tzinfo=zone,
        )
        value.astimezone(datetime.UTC)  # an instant must exist in UTC too: year 1 or 9999
    except (ValueError, OverflowError):
        message = f"{token.value} is not a moment of the calendar"
        raise QueryError.at(token, INVALID_VALUE, message) from None
    return value


def _string(token: Token) -> str:
    raw = token.value[1:-1]
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        escape, digits = raw[i + 1], raw[i + 2 : i + 6]
        if escape == "u" and _HEX4.fullmatch(digits):
            out.append(chr(int(digits, 16)))
            i += 6
        elif escape in _STRING_ESCAPES:
            out.append(_STRING_ESCAPES[escape])
            i += 2
        else:
            if escape == "u":
                message = "\\u takes four hexadecimal digits, as in \\u00e9"
            else:
                message = (
                    f"\\{escape} is not an escape: write \\\\ for a backslash; the escapes "
                    "are \\\\ \\' \\\" \\n \\t \\r and \\uXXXX"
                )
            # The string never spans lines, so the backslash is i + 1 after the quote.
            raise QueryError(QueryErrorCode.QUERY_SYNTAX, message, token.line, token.column + 1 + i)
    return _checked_text("".join(out), token)


def _checked_text(text: str, token: Token) -> str:
    # Two \uXXXX escapes of a surrogate pair become one character. A lone surrogate or a
    # NUL cannot be stored in Postgres or sent to Elasticsearch.
    try:
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError:
        message = "a \\uXXXX surrogate must pair with a second one: \\ud83d\\ude00 is one emoji"
        raise QueryError.at(token, INVALID_VALUE, message) from None
    if "\x00" in text:
        raise QueryError.at(token, INVALID_VALUE, "a string cannot hold the NUL character")
    return text
