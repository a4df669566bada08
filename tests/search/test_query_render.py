"""The canonical renderer, without services: rendering round-trips, and every example in
docs/query-language.md behaves as the page says."""

from __future__ import annotations

import datetime
import re

import pytest
from hypothesis import HealthCheck, given, settings

from search.query.errors import QueryErrorCode
from search.query.parser import parse_query
from search.query.render import render_literal, render_query
from search.query.tree import (
    And,
    Exists,
    In,
    Not,
    Or,
    TextMatch,
)
from tests.search.query_strategies import queries
from tests.search.query_trees import (
    DOCS,
    TAGS,
    TEXT,
    UTC,
    assert_same,
    at,
    error_of,
    label,
    meta,
    w,
)

# --- rendering ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tree", "text"),
    [
        (w("=", 5), "width = 5"),
        (Or((And((w("=", 1), w("=", 2))), w("=", 3))), "width = 1 AND width = 2 OR width = 3"),
        (And((Or((w("=", 1), w("=", 2))), w("=", 3))), "(width = 1 OR width = 2) AND width = 3"),
        (Not(And((w("=", 1), w("=", 2)))), "NOT (width = 1 AND width = 2)"),
        (Not(Not(w("=", 1))), "NOT NOT width = 1"),
        (label(None), "label()"),
        (Exists(meta("lens id", "x")), 'metadata."lens id".x EXISTS'),
        (Exists(meta("a\nb")), 'metadata."a\\nb" EXISTS'),
        (In(TAGS, ("a",), negated=True), "tags NOT IN ('a')"),
        (TextMatch(TEXT, ("rainy", "night")), "text ~ 'rainy night'"),
        (TextMatch(TEXT, ("i\u0307stanbul",)), "text ~ 'İstanbul'"),
    ],
)
def test_render_writes_canonical_text(tree, text):
    assert render_query(tree) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        (1, "1"),
        (2500.0, "2500.0"),
        (1e-05, "1e-05"),
        ("it's", r"'it\'s'"),
        ('a"b\\c\n', r"""'a"b\\c\n'"""),
        ("\x07\U000e0001", r"'\u0007\udb40\udc01'"),
        (datetime.date(5, 1, 2), "0005-01-02"),
        (datetime.datetime(2024, 1, 31, 10, 20, tzinfo=UTC), "2024-01-31T10:20:00Z"),
        (at(2024, 1, 31, 10, 20, 0, 5, offset_minutes=-330), "2024-01-31T10:20:00.000005-05:30"),
        (
            datetime.datetime(
                2024, 1, 31, 10, 20, tzinfo=datetime.timezone(datetime.timedelta(0, 30))
            ),
            "2024-01-31T10:19:30Z",
        ),
        (datetime.datetime(2024, 1, 31, 10, 20), "2024-01-31T10:20:00Z"),
    ],
)
def test_render_writes_literals_the_parser_reads(value, text):
    assert render_literal(value) == text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queries())
def test_rendered_query_parses_back_to_the_same_tree(tree):
    assert_same(parse_query(render_query(tree)), tree)


@settings(max_examples=100, deadline=None)
@given(
    queries(
        metadata_paths=[("camera",), ("camera", "lens"), ("lens id",)],
        attribute_paths=[("occluded",)],
        tags=["night", "rain"],
        class_names=["car", "pedestrian"],
        dataset_ids=[1, 2],
        json_values=["front", 5, 2.5, True, datetime.date(2024, 1, 31)],
        words=["Rainy", "night"],
    )
)
def test_queries_over_given_pools_draw_from_them(tree):
    text = render_query(tree)
    assert_same(parse_query(text), tree)
    assert "dataset = '" not in text  # names were not given, so datasets are ids


# --- the documentation ----------------------------------------------------------------------

_BLOCK = re.compile(r"```(query|query-error)\n(.*?)```", re.DOTALL)
_EXPECTED_ERROR = re.compile(r"\s*Error: `(\w+)` at line (\d+), column (\d+)")


def _documented() -> tuple[list[str], list[tuple[str, str, int, int]]]:
    """The page's examples, and its error examples with the code, line and column written
    under each (a None code where that line is missing, so the test says so)."""
    text = DOCS.read_text(encoding="utf-8")
    examples, errors = [], []
    for block in _BLOCK.finditer(text):
        kind, query = block.group(1), block.group(2).rstrip("\n")
        if kind == "query":
            examples.append(query)
            continue
        expected = _EXPECTED_ERROR.match(text, block.end())
        code, line, column = expected.groups() if expected else (None, 0, 0)
        errors.append((query, code, int(line), int(column)))
    return examples, errors


DOC_EXAMPLES, DOC_ERRORS = _documented()


def test_documentation_shows_fifteen_examples_and_every_error_code():
    assert len(DOC_EXAMPLES) >= 15
    assert {code for _, code, _, _ in DOC_ERRORS} == {code.value for code in QueryErrorCode}


@pytest.mark.parametrize("query", DOC_EXAMPLES)
def test_documented_example_parses(query):
    tree = parse_query(query)
    assert tree is not None
    assert_same(parse_query(render_query(tree)), tree)


@pytest.mark.parametrize(("query", "code", "line", "column"), DOC_ERRORS)
def test_documented_error_is_raised_as_written(query, code, line, column):
    assert code, "write 'Error: `code` at line L, column C' under each query-error block"
    error = error_of(query)
    assert (error.code.value, error.line, error.column) == (code, line, column)
