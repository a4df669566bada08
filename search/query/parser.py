"""parse_query: query text to a checked tree (search/query/tree.py), or a QueryError saying
what to fix and where.

lark parses with the LALR grammar in grammar.lark; a builder then walks lark's tree once,
resolving fields in their scope (the row, one annotation inside label(...), or one predicted
object inside prediction(...)), decoding literals and checking that they fit
(search/query/checks.py).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.lark import PostLex

from search.query import checks
from search.query.errors import QueryError, QueryErrorCode
from search.query.tree import (
    And,
    Compare,
    Comparison,
    Contains,
    Exists,
    Field,
    Group,
    GroupKind,
    In,
    Literal,
    Node,
    Not,
    Or,
    Scope,
    TextMatch,
    words_of,
)

MAX_QUERY_LENGTH = 10_000
MAX_NESTING = 64
MAX_IN_VALUE_TERMINALS = 1_000
# Each word of a `~` pattern is one regex match per string value in Postgres.
MAX_WORDS = 32

SYNTAX = QueryErrorCode.QUERY_SYNTAX
TOO_COMPLEX = QueryErrorCode.QUERY_TOO_COMPLEX

# Each of these opens a nesting level; chains such as `a AND b AND c` do not.
_NESTING_RULES = frozenset({"parens", "group", "not_"})


def parse_query(text: str) -> Node | None:
    """The checked tree of `text`; None for a blank query, which means every row.

    Raises QueryError for anything that cannot run, pointing at the offending token."""
    if len(text) > MAX_QUERY_LENGTH:
        message = f"the query is {len(text):,} characters long; the limit is {MAX_QUERY_LENGTH:,}"
        raise QueryError(TOO_COMPLEX, message, 1, 1)
    if not text.strip():
        return None
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(text, error) from None
    _check_nesting(tree)
    return _build(tree, Scope.ROW)


class _AndOrStayKeywords(PostLex):
    """Where a field may start, the contextual lexer reads `OR` as a name, so a doubled
    operator (`a AND OR b`) would be reported as an unknown field `OR`, a token late. AND
    and OR are operators wherever they stand, except as a key after a dot (`metadata.or`)."""

    always_accept = ()

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        previous = None
        for token in stream:
            if token.type == "NAME" and previous != "_DOT" and token.lower() in ("and", "or"):
                token = Token.new_borrow_pos(f"_{token.upper()}", token.value, token)
            previous = token.type
            yield token


@functools.cache
def _lark() -> Lark:
    grammar = Path(__file__).with_name("grammar.lark").read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
        postlex=_AndOrStayKeywords(),
    )


def _check_nesting(tree: Tree) -> None:
    # Iterative, so a deep query is refused here rather than overflowing the builder's stack.
    stack: list[tuple[Tree, int]] = [(tree, int(tree.data in _NESTING_RULES))]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            message = (
                f"the query nests more than {MAX_NESTING} levels of parentheses, "
                "label(...), prediction(...) and NOT: flatten it"
            )
            raise QueryError.at(node.meta, TOO_COMPLEX, message)
        for child in node.children:
            if isinstance(child, Tree):
                stack.append((child, depth + int(child.data in _NESTING_RULES)))


def _build(tree: Tree, scope: Scope) -> Node:
    match tree.data:
        case "disjunction":
            return Or(_flattened(Or, [_build(c, scope) for c in tree.children]))
        case "conjunction":
            return And(_flattened(And, [_build(c, scope) for c in tree.children]))
        case "not_":
            return Not(_build(tree.children[1], scope))
        case "parens":
            return _build(tree.children[0], scope)
        case "group":
            return _group(tree, scope)
    return _condition(tree, scope)


def _flattened(kind: type[And] | type[Or], children: list[Node]) -> tuple[Node, ...]:
    flat: list[Node] = []
    for child in children:
        flat.extend(child.children if isinstance(child, kind) else (child,))
    return tuple(flat)


# What one group describes, for the message that refuses a group inside it.
_ONE_OF = {
    Scope.ANNOTATION: ("label", "annotation"),
    Scope.PREDICTION: ("prediction", "predicted object"),
}


def _group(tree: Tree, scope: Scope) -> Group:
    name, inside = tree.children
    if scope is not Scope.ROW:
        outer, one = _ONE_OF[scope]
        message = (
            f"{name.value}(...) cannot nest inside {outer}(...): one {outer}(...) already "
            f"describes one {one}; put all its conditions there"
        )
        raise QueryError.at(name, SYNTAX, message)
    kind = GroupKind(name.type.lower())
    condition = None if inside is None else _build(inside, kind.scope)
    return Group(kind, condition)


def _condition(tree: Tree, scope: Scope) -> Node:
    field_tree, *rest = tree.children
    if isinstance(field_tree, Token):  # `EXISTS metadata.key`: keyword first
        field_tree, rest = rest[0], [field_tree]
    field_name, *keys = field_tree.children
    path = tuple(checks.decode_key(k) for k in keys)
    field = checks.resolve_field(field_name.value, field_name, path, scope)
    match tree.data, rest:
        case "compare", [op, value]:
            checks.check_operator(field, op.value, op)
            return Compare(field, Comparison(op.value), _checked(field, op.value, value, scope))
        case "in_list", [negated, keyword, *values]:
            operator = "IN" if negated is None else "NOT IN"
            checks.check_operator(field, operator, negated or keyword)
            checks.check_in_size(values, MAX_IN_VALUE_TERMINALS)
            literals = tuple(_checked(field, operator, v, scope) for v in values)
            return In(field, literals, negated is not None)
        case "contains", [keyword, value]:
            checks.check_operator(field, "CONTAINS", keyword)
            literal = _checked(field, "CONTAINS", value, scope)
            assert isinstance(literal, str)  # check_literal allows nothing else
            return Contains(field, literal)
        case "exists", [keyword]:
            checks.check_operator(field, "EXISTS", keyword)
            return Exists(field)
        case "text_match", [tilde, value]:
            checks.check_operator(field, "~", tilde)
            pattern = _checked(field, "~", value, scope)
            assert isinstance(pattern, str)
            words = tuple(dict.fromkeys(words_of(pattern)))  # a word twice asks nothing more
            if not words:
                message = "~ searches for words, and this string has none: write letters or digits"
                raise QueryError.at(value, QueryErrorCode.INVALID_VALUE, message)
            if len(words) > MAX_WORDS:
                message = f"~ looks for at most {MAX_WORDS} words; this pattern has {len(words)}"
                raise QueryError.at(value, TOO_COMPLEX, message)
            return TextMatch(field, words)
    raise AssertionError(f"grammar rule without a builder: {tree.data}")


def _checked(field: Field, operator: str, token: Token, scope: Scope) -> Literal:
    value = checks.decode_literal(token)
    checks.check_literal(field, operator, value, token, scope=scope)
    return value


# --- syntax errors --------------------------------------------------------------------------

# What lark's terminal names mean to a person, in the order a message lists them: a phrase
# applies when its terminals are all expected, and then stands for the ones it covers too.
_VALUE_TERMINALS = frozenset({"STRING", "NUMBER", "DATE", "DATETIME", "TRUE", "FALSE"})
_CONDITION_TERMINALS = frozenset({"LABEL", "PREDICTION", "NAME", "NOT", "EXISTS", "_LPAR"})
_OPERATOR_TERMINALS = frozenset({"COMP_OP", "NOT", "IN", "CONTAINS", "EXISTS", "TILDE"})
_PHRASES: tuple[tuple[frozenset[str], frozenset[str], str], ...] = (
    (frozenset({"LABEL"}), _CONDITION_TERMINALS, "a condition such as width > 100"),
    (
        frozenset({"COMP_OP"}),
        _OPERATOR_TERMINALS,
        "an operator (=, !=, <, <=, >, >=, IN, NOT IN, CONTAINS, EXISTS or ~)",
    ),
    (
        frozenset({"NUMBER"}),
        _VALUE_TERMINALS,
        "a value (a quoted string, a number, a date, true or false)",
    ),
    (frozenset({"NAME", "STRING"}), frozenset({"NAME", "STRING"}), "a key, plain or quoted"),
    (frozenset({"NAME"}), frozenset({"NAME"}), "a field such as metadata.camera"),
    (frozenset({"IN"}), frozenset({"IN"}), "IN"),
    (frozenset({"_LPAR"}), frozenset({"_LPAR"}), "'('"),
    (frozenset({"_AND"}), frozenset({"_AND"}), "AND"),
    (frozenset({"_OR"}), frozenset({"_OR"}), "OR"),
    (frozenset({"_COMMA"}), frozenset({"_COMMA"}), "','"),
    (frozenset({"_RPAR"}), frozenset({"_RPAR"}), "')'"),
    (frozenset({"$END"}), frozenset({"$END"}), "the end of the query"),
)
_DATE_BEFORE = re.compile(r"\d-\d+-\d+\s+$")
_CHARACTER_HINTS = {"&": "write AND", "|": "write OR", "!": "write NOT, or != to compare"}


def _syntax_error(text: str, error: UnexpectedInput) -> QueryError:
    expected = _expected_terminals(error)
    if isinstance(error, UnexpectedCharacters):
        char = text[error.pos_in_stream]
        if char in "'\"":
            message = f"this string has no closing {char} on its line"
        else:
            hint = _CHARACTER_HINTS.get(char, f"expected {_describe(expected)}")
            message = f"unexpected character {char!r}: {hint}"
        return QueryError(SYNTAX, message, error.line, error.column)
    token = error.token if isinstance(error, UnexpectedToken) else None
    if token is None or token.type == "$END":
        line, column = _end_of(text)
        return QueryError(
            SYNTAX, f"the query ends too early: expected {_describe(expected)}", line, column
        )
    message = f"unexpected {token.value!r}: expected {_describe(expected)}"
    if token.type == "NAME" and "STRING" in expected:
        message += f"; strings are quoted, as in '{token.value}'"
    elif token.type == "_RPAR" and expected <= {"$END", "_AND", "_OR"}:
        message = "unexpected ')': it closes no '('"
    elif token.type == "NUMBER" and _DATE_BEFORE.search(text, 0, token.start_pos):
        message += "; a datetime is written with a T, as in 2024-01-31T10:20"
    return QueryError(SYNTAX, message, token.line, token.column)


def _expected_terminals(error: UnexpectedInput) -> set[str]:
    # The interactive parser tries each terminal from where the parse stopped, which is
    # exact; lark's own `expected` can hold terminals from merged LALR states.
    interactive = getattr(error, "interactive_parser", None)
    if interactive is not None:
        return set(interactive.accepts())
    return set(getattr(error, "expected", None) or getattr(error, "allowed", None) or ())


def _describe(expected: set[str]) -> str:
    remaining, phrases = set(expected), []
    for needs, covers, phrase in _PHRASES:
        if needs <= remaining:
            phrases.append(phrase)
            remaining -= covers
    if not phrases:
        return "something else"
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " or " + phrases[-1]


def _end_of(text: str) -> tuple[int, int]:
    """Just after the last character that is not whitespace."""
    body = text.rstrip()
    line = body.count("\n") + 1
    return line, len(body) - (body.rfind("\n") + 1) + 1
