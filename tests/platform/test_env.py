"""Settings read from the environment: a bad value stops start-up, saying what to fix."""

import pytest

from loupe.env import env_int


def test_an_integer_setting_reads_its_value_or_its_default(monkeypatch):
    monkeypatch.setenv("LOUPE_TEST_SIZE", "12")

    assert (env_int("LOUPE_TEST_SIZE", 5), env_int("LOUPE_TEST_UNSET", 5)) == (12, 5)


def test_an_integer_setting_that_is_not_a_number_is_refused(monkeypatch):
    monkeypatch.setenv("LOUPE_TEST_SIZE", "many")

    with pytest.raises(ValueError, match="LOUPE_TEST_SIZE must be an integer"):
        env_int("LOUPE_TEST_SIZE", 5)


def test_an_integer_setting_below_its_minimum_is_refused(monkeypatch):
    monkeypatch.setenv("LOUPE_TEST_SIZE", "0")

    with pytest.raises(ValueError, match="LOUPE_TEST_SIZE must be at least 1, got 0"):
        env_int("LOUPE_TEST_SIZE", 5, minimum=1)
