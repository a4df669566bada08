"""Query errors, without services: every error names its code and position, and the limits
hold exactly at their bounds."""

from __future__ import annotations

import pytest

from search.query.errors import QueryErrorCode
from search.query.parser import parse_query
from search.query.tree import (
    Compare,
    Comparison,
    In,
    Not,
)
from tests.search.query_trees import (
    CLASS,
    WIDTH,
    assert_same,
    error_of,
    label,
    w,
)

# --- errors ---------------------------------------------------------------------------------

SYNTAX = QueryErrorCode.QUERY_SYNTAX
UNKNOWN = QueryErrorCode.UNKNOWN_FIELD
MISMATCH = QueryErrorCode.TYPE_MISMATCH
INVALID = QueryErrorCode.INVALID_VALUE
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
        ("label(prediction())", SYNTAX, 1, 7),
        ("prediction(label())", SYNTAX, 1, 12),
        ("prediction(class = 'car' AND prediction())", SYNTAX, 1, 30),
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
        ("score < 0.5", UNKNOWN, 1, 1),
        ("width > 1 AND model = 'det'", UNKNOWN, 1, 15),
        ("label(score < 0.5)", UNKNOWN, 1, 7),
        ("label(class = 'car' AND eval = 'tp')", UNKNOWN, 1, 25),
        ("prediction(attributes.occluded = true)", UNKNOWN, 1, 12),
        ("prediction(source = 'model')", UNKNOWN, 1, 12),
        ("prediction(width > 1)", UNKNOWN, 1, 12),
        ("prediction(score > 0.5 AND metadata.x = 1)", UNKNOWN, 1, 28),
        ("prediction(scores > 0.5)", UNKNOWN, 1, 12),
        ("prediction(score.x > 0.5)", UNKNOWN, 1, 12),
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
        ("prediction(score > 'high')", MISMATCH, 1, 20),
        ("prediction(version = true)", MISMATCH, 1, 22),
        ("prediction(model < 'm')", MISMATCH, 1, 18),
        ("prediction(iou ~ 'x')", MISMATCH, 1, 16),
        ("prediction(eval IN ('tp', 1))", MISMATCH, 1, 27),
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
        ("prediction(eval = 'tn')", INVALID, 1, 19),
        ("prediction(eval IN ('tp', 'FP'))", INVALID, 1, 27),
        ("prediction(score < 1e999)", INVALID, 1, 20),
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
        ("\n\n   prediction(eval = 'ok')", INVALID, 3, 22),
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


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "score < 0.5",
            "score is a field of a predicted object: write prediction(score ...); the fields "
            "outside label(...) and prediction(...) are external_id, dataset, width, height, "
            "created_at, updated_at, tags, text, metadata.<key>",
        ),
        (
            "class = 'car'",
            "class is a field of an annotation or a predicted object: write label(class ...) or "
            "prediction(class ...); the fields outside label(...) and prediction(...) are "
            "external_id, dataset, width, height, created_at, updated_at, tags, text, "
            "metadata.<key>",
        ),
        (
            "prediction(attributes.occluded = true)",
            "attributes is a field of an annotation: write it inside label(...); the fields "
            "inside prediction(...) are model, version, class, score, rank, area, eval, iou",
        ),
        (
            "label(iou > 0.5)",
            "iou is a field of a predicted object: write it inside prediction(...); the fields "
            "inside label(...) are class, source, type, area, attributes.<key>",
        ),
        (
            "prediction(height > 100)",
            "height is a field of the data row: write it outside prediction(...); the fields "
            "inside prediction(...) are model, version, class, score, rank, area, eval, iou",
        ),
        (
            "prediction(Score > 0.5)",
            "there is no field Score (did you mean score?); the fields inside prediction(...) "
            "are model, version, class, score, rank, area, eval, iou",
        ),
        (
            "prediction(occluded = true)",
            "there is no field occluded; the fields inside prediction(...) are model, version, "
            "class, score, rank, area, eval, iou",
        ),
    ],
)
def test_a_field_out_of_its_scope_is_told_where_it_belongs(query, message):
    assert error_of(query).message == message


def test_eval_names_its_choices():
    assert error_of("prediction(eval = 'TP')").message == "eval is 'tp', 'fp' or 'fn', not 'TP'"


def test_a_group_inside_a_prediction_group_is_refused_as_syntax():
    assert error_of("prediction(label(class = 'car'))").message == (
        "label(...) cannot nest inside prediction(...): one prediction(...) already describes "
        "one predicted object; put all its conditions there"
    )


def test_error_renders_its_position():
    assert str(error_of("width = 'big'")).endswith("(line 1, column 9)")
    assert error_of("width = 'big'").as_dict()["code"] == "type_mismatch"


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


def test_a_pattern_of_thirty_two_words_is_accepted_and_repeats_count_once():
    words = " ".join(f"w{n}" for n in range(32))
    assert len(parse_query(f"text ~ '{words} {words}'").words) == 32


def test_a_pattern_of_more_words_is_too_complex():
    words = " ".join(f"w{n}" for n in range(33))
    error = error_of(f"text ~ '{words}'")
    assert (error.code, error.line, error.column) == (TOO_COMPLEX, 1, 8)
