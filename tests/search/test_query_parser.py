"""The query language's parser, without services: every construct parses into the expected
tree, and literals read as their Python values."""

from __future__ import annotations

import datetime

import pytest

from search.query.errors import QueryErrorCode
from search.query.parser import parse_query
from search.query.tree import (
    And,
    Compare,
    Comparison,
    Contains,
    Exists,
    Field,
    FieldKind,
    In,
    Not,
    Or,
    TextMatch,
)
from tests.search.query_trees import (
    AREA,
    CLASS,
    CREATED,
    DATASET,
    EVAL,
    EXTERNAL_ID,
    HEIGHT,
    IOU,
    MODEL,
    SCORE,
    TAGS,
    TEXT,
    UPDATED,
    UTC,
    VERSION,
    WIDTH,
    assert_same,
    at,
    attrs,
    error_of,
    label,
    meta,
    prediction,
    w,
)

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


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("prediction()", prediction(None)),
        (
            "prediction(model = 'digits-cnn' AND score < 0.6)",
            prediction(
                And(
                    (
                        Compare(MODEL, Comparison.EQ, "digits-cnn"),
                        Compare(SCORE, Comparison.LT, 0.6),
                    )
                )
            ),
        ),
        (
            "prediction(version IN (1, 2) OR iou >= 0.5)",
            prediction(Or((In(VERSION, (1, 2)), Compare(IOU, Comparison.GE, 0.5)))),
        ),
        ("prediction(eval != 'fn')", prediction(Compare(EVAL, Comparison.NE, "fn"))),
        ("prediction(class ~ 'Traffic light')", prediction(TextMatch(CLASS, ("traffic", "light")))),
        ("prediction(area > 500)", prediction(Compare(AREA, Comparison.GT, 500))),
        ("PREDICTION(model ~ 'cnn')", prediction(TextMatch(MODEL, ("cnn",)))),
        (
            "label(class = 'car') AND NOT prediction(class = 'car')",
            And(
                (
                    label(Compare(CLASS, Comparison.EQ, "car")),
                    Not(prediction(Compare(CLASS, Comparison.EQ, "car"))),
                )
            ),
        ),
    ],
)
def test_prediction_group_parses_with_prediction_fields(query, expected):
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
