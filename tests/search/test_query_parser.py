"""The query language's parser and canonical renderer, without services: every construct
parses into the expected tree, every error names its code and position, rendering
round-trips, and every example in docs/query-language.md behaves as the page says."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from search.query.errors import QueryError, QueryErrorCode
from search.query.parser import parse_query
from search.query.render import render_literal, render_query
from search.query.tree import (
    And,
    Compare,
    Comparison,
    Contains,
    Exists,
    Field,
    FieldKind,
    Group,
    GroupKind,
    In,
    Node,
    Not,
    Or,
    TextMatch,
)
from tests.search.query_strategies import queries

DOCS = Path(__file__).resolve().parents[2] / "docs" / "query-language.md"
UTC = datetime.UTC

WIDTH = Field("width", FieldKind.NUMBER)
HEIGHT = Field("height", FieldKind.NUMBER)
TAGS = Field("tags", FieldKind.TAGS)
TEXT = Field("text", FieldKind.TEXT)
CREATED = Field("created_at", FieldKind.DATETIME)
DATASET = Field("dataset", FieldKind.DATASET)
CLASS = Field("class", FieldKind.STRING)
AREA = Field("area", FieldKind.NUMBER)
EXTERNAL_ID = Field("external_id", FieldKind.STRING)
UPDATED = Field("updated_at", FieldKind.DATETIME)


def meta(*path: str) -> Field:
    return Field("metadata", FieldKind.JSON, path)


def attrs(*path: str) -> Field:
    return Field("attributes", FieldKind.JSON, path)


def at(*fields: int, offset_minutes: int = 0) -> datetime.datetime:
    """An aware datetime in a fixed offset, as the parser builds them."""
    zone = datetime.timezone(datetime.timedelta(minutes=offset_minutes))
    return datetime.datetime(*fields, tzinfo=zone)


def label(condition: Node | None) -> Group:
    return Group(GroupKind.LABEL, condition)


def w(op: str, value: int) -> Compare:
    return Compare(WIDTH, Comparison(op), value)


def assert_same(actual: Node | None, expected: Node | None) -> None:
    # == alone would take True for 1 and 1.0 for 1, and instants in different offsets as
    # equal; the reprs tell them apart.
    assert actual == expected
    assert repr(actual) == repr(expected)


def error_of(query: str) -> QueryError:
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    return caught.value


# --- constructs -----------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "   ", "\n\t  \n"])
def test_blank_query_means_every_row(query):
    assert parse_query(query) is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("width = 5", w("=", 5)),
        ("width != 5", w("!=", 5)),
        ("width < 5", w("<", 5)),
        ("width <= 5", w("<=", 5)),
        ("width > 5", w(">", 5)),
        ("width>=5", w(">=", 5)),
        ("height IN (1, 2.5)", In(HEIGHT, (1, 2.5))),
        ("height NOT IN (1)", In(HEIGHT, (1,), negated=True)),
        ("tags CONTAINS 'night'", Contains(TAGS, "night")),
        ("tags IN ('a', 'b')", In(TAGS, ("a", "b"))),
        ("metadata.gps EXISTS", Exists(meta("gps"))),
        ("EXISTS metadata.gps", Exists(meta("gps"))),
        ("EXISTS(metadata.gps)", Exists(meta("gps"))),
        ("text ~ 'Rainy  night!'", TextMatch(TEXT, ("rainy", "night"))),
        ("metadata.notes ~ 'lens-flare'", TextMatch(meta("notes"), ("lens", "flare"))),
        ("dataset = 12", Compare(DATASET, Comparison.EQ, 12)),
        ("dataset IN (12, 'highway')", In(DATASET, (12, "highway"))),
        ("external_id = 'f1'", Compare(EXTERNAL_ID, Comparison.EQ, "f1")),
        ("updated_at < 2024-01-31", Compare(UPDATED, Comparison.LT, datetime.date(2024, 1, 31))),
        ("metadata.camera.lens = 'wide'", Compare(meta("camera", "lens"), Comparison.EQ, "wide")),
        ("metadata.\"lens id\".'x.y' = 1", Compare(meta("lens id", "x.y"), Comparison.EQ, 1)),
        ("metadata.and.or.label = true", Compare(meta("and", "or", "label"), Comparison.EQ, True)),
        ("metadata.été = false", Compare(meta("été"), Comparison.EQ, False)),
    ],
)
def test_condition_parses_into_its_node(query, expected):
    assert_same(parse_query(query), expected)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("label()", label(None)),
        ("label(class = 'car')", label(Compare(CLASS, Comparison.EQ, "car"))),
        (
            "label(class = 'car' AND area > 500)",
            label(And((Compare(CLASS, Comparison.EQ, "car"), Compare(AREA, Comparison.GT, 500)))),
        ),
        (
            "label(source IN ('human') OR type != 'bbox')",
            label(
                Or(
                    (
                        In(Field("source", FieldKind.STRING), ("human",)),
                        Compare(Field("type", FieldKind.STRING), Comparison.NE, "bbox"),
                    )
                )
            ),
        ),
        ("label(attributes.occluded EXISTS)", label(Exists(attrs("occluded")))),
        ("label(NOT class ~ 'Traffic light')", label(Not(TextMatch(CLASS, ("traffic", "light"))))),
        ("NOT label()", Not(label(None))),
    ],
)
def test_label_group_parses_with_annotation_fields(query, expected):
    assert_same(parse_query(query), expected)


def test_not_binds_tighter_than_and_which_binds_tighter_than_or():
    tree = parse_query("width = 1 OR width = 2 AND NOT width = 3")
    assert_same(tree, Or((w("=", 1), And((w("=", 2), Not(w("=", 3)))))))


def test_parentheses_group():
    tree = parse_query("(width = 1 OR width = 2) AND width = 3")
    assert_same(tree, And((Or((w("=", 1), w("=", 2))), w("=", 3))))


@pytest.mark.parametrize(
    "query",
    [
        "width = 1 AND (width = 2 AND width = 3)",
        "(width = 1 AND width = 2) AND width = 3",
        "((width = 1)) AND ((width = 2) AND (width = 3))",
    ],
)
def test_chains_of_the_same_operator_flatten(query):
    assert_same(parse_query(query), And((w("=", 1), w("=", 2), w("=", 3))))


def test_or_chains_flatten_but_keep_and_inside():
    tree = parse_query("width = 1 OR (width = 2 OR width = 3 AND width = 4)")
    assert_same(tree, Or((w("=", 1), w("=", 2), And((w("=", 3), w("=", 4))))))


def test_parentheses_around_one_condition_leave_no_trace():
    assert_same(parse_query("(((width = 1)))"), w("=", 1))


def test_not_not_is_kept():
    assert_same(parse_query("NOT NOT width = 1"), Not(Not(w("=", 1))))


@pytest.mark.parametrize(
    "query",
    [
        "not tags contains 'x' and (width in (1) or label(class = 'car') or metadata.a exists)",
        "NoT tags cOnTaInS 'x' AnD (width In (1) Or LABEL(class = 'car') oR metadata.a ExIsTs)",
    ],
)
def test_keywords_in_any_case(query):
    expected = And(
        (
            Not(Contains(TAGS, "x")),
            Or((In(WIDTH, (1,)), label(Compare(CLASS, Comparison.EQ, "car")), Exists(meta("a")))),
        )
    )
    assert_same(parse_query(query), expected)


@pytest.mark.parametrize("query", ["notes = 1", "index = 1", "andrew = 1", "truthy = 1"])
def test_names_that_start_with_a_keyword_are_names(query):
    assert error_of(query).code is QueryErrorCode.UNKNOWN_FIELD


# --- literals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("0", 0),
        ("-7", -7),
        ("007", 7),
        ("2.5", 2.5),
        ("-0.0", -0.0),
        ("1e6", 1e6),
        ("6.02E+23", 6.02e23),
        ("1e-5", 1e-5),
        ("9223372036854775807", 2**63 - 1),
        ("-9223372036854775808", -(2**63)),
        ("true", True),
        ("FALSE", False),
        ("'plain'", "plain"),
        ('"double"', "double"),
        (r"'a\'b\"c\\d'", "a'b\"c\\d"),
        (r"'\n\t\r'", "\n\t\r"),
        (r"'caf\u00e9 \u00E9'", "café é"),
        (r"'\ud83d\ude00'", "😀"),
        ("'😀 ünï'", "😀 ünï"),
        ("''", ""),
        ("2024-01-31", datetime.date(2024, 1, 31)),
        ("2024-02-29", datetime.date(2024, 2, 29)),
    ],
)
def test_literal_reads_as_its_python_value(literal, value):
    assert_same(parse_query(f"metadata.x = {literal}"), Compare(meta("x"), Comparison.EQ, value))


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("2024-01-31T10:20", at(2024, 1, 31, 10, 20)),
        ("2024-01-31T10:20:30", at(2024, 1, 31, 10, 20, 30)),
        ("2024-01-31T10:20:30.5", at(2024, 1, 31, 10, 20, 30, 500000)),
        ("2024-01-31T10:20:30.123456Z", at(2024, 1, 31, 10, 20, 30, 123456)),
        ("2024-01-31t10:20z", at(2024, 1, 31, 10, 20)),
        ("2024-01-31T10:20+02:00", at(2024, 1, 31, 10, 20, offset_minutes=120)),
        ("2024-01-31T10:20-05:30", at(2024, 1, 31, 10, 20, offset_minutes=-330)),
        ("2024-01-31T10:20+00:00", at(2024, 1, 31, 10, 20)),
    ],
)
def test_datetime_literal_is_an_aware_instant(literal, value):
    assert_same(parse_query(f"created_at < {literal}"), Compare(CREATED, Comparison.LT, value))


def test_doubled_quote_is_not_an_escape():
    # SQL writes 'it''s'; here that is two strings side by side, which the grammar refuses.
    error = error_of("metadata.x = 'it''s'")
    assert (error.code, error.column) == (QueryErrorCode.QUERY_SYNTAX, 18)


def test_date_is_never_read_as_numbers():
    tree = parse_query("created_at IN (2024-01-31, 2024-02-01T00:00)")
    assert tree == In(
        CREATED, (datetime.date(2024, 1, 31), datetime.datetime(2024, 2, 1, tzinfo=UTC))
    )


# --- errors ---------------------------------------------------------------------------------

SYNTAX = QueryErrorCode.QUERY_SYNTAX
UNKNOWN = QueryErrorCode.UNKNOWN_FIELD
MISMATCH = QueryErrorCode.TYPE_MISMATCH
INVALID = QueryErrorCode.INVALID_VALUE
UNSUPPORTED = QueryErrorCode.UNSUPPORTED
TOO_COMPLEX = QueryErrorCode.QUERY_TOO_COMPLEX


@pytest.mark.parametrize(
    ("query", "code", "line", "column"),
    [
        # query_syntax
        ("width =", SYNTAX, 1, 8),
        ("width = big", SYNTAX, 1, 9),
        ("width == 1", SYNTAX, 1, 8),
        ("width = 1 width = 2", SYNTAX, 1, 11),
        ("width = 1 & height = 2", SYNTAX, 1, 11),
        ("(width = 1", SYNTAX, 1, 11),
        ("width = 1)", SYNTAX, 1, 10),
        ("width IN ()", SYNTAX, 1, 11),
        ("width NOT = 1", SYNTAX, 1, 11),
        ("metadata.x = 'open", SYNTAX, 1, 14),
        (r"metadata.x = 'a\qb'", SYNTAX, 1, 16),
        (r"metadata.x = '\u12'", SYNTAX, 1, 15),
        ("metadata.x.", SYNTAX, 1, 12),
        ("metadata.5x = 1", SYNTAX, 1, 10),
        ("metadata.é€ = 1", SYNTAX, 1, 10),
        ("label(label())", SYNTAX, 1, 7),
        ("label(", SYNTAX, 1, 7),
        ("EXISTS", SYNTAX, 1, 7),
        ("NOT", SYNTAX, 1, 4),
        ("width = 1 AND", SYNTAX, 1, 14),
        ("width = 1 AND OR width = 2", SYNTAX, 1, 15),
        # unknown_field
        ("foo = 1", UNKNOWN, 1, 1),
        ("Width = 1", UNKNOWN, 1, 1),
        ("metadata = 1", UNKNOWN, 1, 1),
        ("width.x = 1", UNKNOWN, 1, 1),
        ("class = 'car'", UNKNOWN, 1, 1),
        ("attributes.x EXISTS", UNKNOWN, 1, 1),
        ("label(width = 1)", UNKNOWN, 1, 7),
        ("label(class = 'car' AND metadata.x = 1)", UNKNOWN, 1, 25),
        ("label(text ~ 'a')", UNKNOWN, 1, 7),
        # type_mismatch
        ("width < 'big'", MISMATCH, 1, 9),
        ("width = true", MISMATCH, 1, 9),
        ("width IN (1, '2')", MISMATCH, 1, 14),
        ("width ~ 'x'", MISMATCH, 1, 7),
        ("width EXISTS", MISMATCH, 1, 7),
        ("EXISTS width", MISMATCH, 1, 1),
        ("external_id < 'a'", MISMATCH, 1, 13),
        ("external_id = 5", MISMATCH, 1, 15),
        ("created_at > 5", MISMATCH, 1, 14),
        ("created_at ~ 'x'", MISMATCH, 1, 12),
        ("dataset = 1.5", MISMATCH, 1, 11),
        ("dataset = true", MISMATCH, 1, 11),
        ("dataset > 3", MISMATCH, 1, 9),
        ("tags = 'x'", MISMATCH, 1, 6),
        ("tags != 'x'", MISMATCH, 1, 6),
        ("tags CONTAINS 5", MISMATCH, 1, 15),
        ("tags IN ('a', 1)", MISMATCH, 1, 15),
        ("tags ~ 'x'", MISMATCH, 1, 6),
        ("text = 'x'", MISMATCH, 1, 6),
        ("text ~ 5", MISMATCH, 1, 8),
        ("width CONTAINS 1", MISMATCH, 1, 7),
        ("metadata.x CONTAINS 'a'", MISMATCH, 1, 12),
        ("metadata.x < true", MISMATCH, 1, 14),
        ("metadata.x = 2024-01-31T10:20", MISMATCH, 1, 14),
        ("metadata.x IN (1, 2024-01-31T10:20)", MISMATCH, 1, 19),
        ("metadata.x ~ 5", MISMATCH, 1, 14),
        ("width NOT IN ('a')", MISMATCH, 1, 15),
        ("label(class > 'a')", MISMATCH, 1, 13),
        ("label(area = 'big')", MISMATCH, 1, 14),
        # invalid_value
        ("created_at = 2024-02-30", INVALID, 1, 14),
        ("created_at = 2023-02-29", INVALID, 1, 14),
        ("created_at = 2024-1-31", INVALID, 1, 14),
        ("created_at = 0000-01-01", INVALID, 1, 14),
        ("created_at = 2024-01-31T24:00", INVALID, 1, 14),
        ("created_at = 2024-01-31T10:20:60", INVALID, 1, 14),
        ("created_at = 2024-01-31T10:20:30.1234567", INVALID, 1, 14),
        ("created_at = 2024-01-31T10:20+24:00", INVALID, 1, 14),
        ("created_at = 2024-01-31T", INVALID, 1, 14),
        ("created_at < 0001-01-01T00:00+01:00", INVALID, 1, 14),
        ("width = 9223372036854775808", INVALID, 1, 9),
        ("width = " + "9" * 5000, INVALID, 1, 9),
        ("width < 1e999", INVALID, 1, 9),
        ("label(source = 'robot')", INVALID, 1, 16),
        ("label(type IN ('bbox', 'circle'))", INVALID, 1, 24),
        ("label(type != 'Bbox')", INVALID, 1, 15),
        ("text ~ '!!'", INVALID, 1, 8),
        ("label(class ~ '')", INVALID, 1, 15),
        (r"metadata.x = '\u0000'", INVALID, 1, 14),
        (r"metadata.x = '\ud800'", INVALID, 1, 14),
        (r"metadata.x = '\ude00\ud83d'", INVALID, 1, 14),
        (r"metadata.'a\u0000' = 1", INVALID, 1, 10),
        # unsupported
        ("prediction(class = 'car')", UNSUPPORTED, 1, 1),
        ("width = 1 OR PREDICTION()", UNSUPPORTED, 1, 14),
        # query_too_complex
        ("width IN (" + ", ".join(["1"] * 1001) + ")", TOO_COMPLEX, 1, 11 + 3 * 1000),
    ],
)
def test_error_names_code_and_position(query, code, line, column):
    error = error_of(query)
    assert (error.code, error.line, error.column) == (code, line, column), error.message


@pytest.mark.parametrize(
    ("query", "code", "line", "column"),
    [
        ("width > 100 AND\nheight >= ", SYNTAX, 2, 10),
        ("width > 100\n  AND\n  height = 'x'", MISMATCH, 3, 12),
        ("width > 100 AND\n\tlabel(class = 'car' AND\n\t      wdth > 10)", UNKNOWN, 3, 8),
        ("tags CONTAINS 'a' OR\n  metadata.x = 'unclosed\n  AND width = 1", SYNTAX, 2, 16),
        ("\n\n   prediction()", UNSUPPORTED, 3, 4),
        ("width = 1 OR\n  created_at = 2024-13-01", INVALID, 2, 16),
        ("metadata.a = 'x\\'y' AND\n    metadata.b = '\\z'", SYNTAX, 2, 19),
    ],
)
def test_error_position_on_later_lines(query, code, line, column):
    error = error_of(query)
    assert (error.code, error.line, error.column) == (code, line, column), error.message


def test_datetime_written_with_a_space_is_explained():
    error = error_of("created_at > 2024-01-31 10:20")
    assert (error.code, error.column) == (SYNTAX, 25)
    assert "written with a T" in error.message


def test_error_message_says_what_fits():
    assert error_of("width = 'big'").message == (
        "width is a number: compare it with a number, not 'big'"
    )


def test_metadata_datetime_error_suggests_the_day():
    assert "write 2024-01-31" in error_of("metadata.taken = 2024-01-31T10:20").message


def test_row_field_inside_label_lists_annotation_fields():
    message = error_of("label(width = 1)").message
    assert "class, source, type, area, attributes.<key>" in message


def test_error_renders_its_position():
    assert str(error_of("width = 'big'")).endswith("(line 1, column 9)")
    assert error_of("width = 'big'").as_dict()["code"] == "type_mismatch"


def test_prediction_is_refused_before_its_contents_are_read():
    error = error_of("prediction(model = 'yolo' AND score > 0.5)")
    assert error.code is UNSUPPORTED
    assert error.message == "prediction(...) is not available yet: predictions are not stored"


# --- limits ---------------------------------------------------------------------------------


def test_query_of_ten_thousand_characters_is_accepted():
    query = "width = 1" + " " * (10_000 - len("width = 1"))
    assert_same(parse_query(query), w("=", 1))


def test_longer_query_is_too_complex():
    error = error_of("width = 1" + " " * 9_992)
    assert (error.code, error.line, error.column) == (TOO_COMPLEX, 1, 1)


def test_in_list_of_a_thousand_values_is_accepted():
    tree = parse_query("width IN (" + ", ".join(map(str, range(1000))) + ")")
    assert tree == In(WIDTH, tuple(range(1000)))


def test_sixty_four_levels_are_accepted():
    tree = parse_query("NOT " * 32 + "(" * 31 + "label(class = 'car')" + ")" * 31)
    for _ in range(32):
        assert isinstance(tree, Not)
        tree = tree.child
    assert_same(tree, label(Compare(CLASS, Comparison.EQ, "car")))


@pytest.mark.parametrize(
    ("query", "column"),
    [
        ("(" * 65 + "width = 1" + ")" * 65, 65),
        ("NOT " * 65 + "width = 1", 257),
        ("NOT " * 64 + "label(class = 'car')", 257),
    ],
)
def test_sixty_five_levels_are_too_complex(query, column):
    error = error_of(query)
    assert (error.code, error.line, error.column) == (TOO_COMPLEX, 1, column)


def test_deepest_query_that_fits_the_length_limit_fails_cleanly():
    error = error_of("(" * 4_995 + "width = 1" + ")" * 4_995)
    assert (error.code, error.line, error.column) == (TOO_COMPLEX, 1, 65)


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
