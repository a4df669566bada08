"""The day rules both compilers share: a date literal compares by whole UTC days."""

from __future__ import annotations

import datetime

from search.query.tree import Comparison


def midnight(day: datetime.date) -> datetime.datetime:
    """The instant a UTC day starts."""
    return datetime.datetime.combine(day, datetime.time(), datetime.UTC)


def day_bounds(
    op: Comparison, day: datetime.date
) -> tuple[datetime.date | None, datetime.date | None] | None:
    """`op day`, compared by day, as the days [first, after) (None: unbounded on that side),
    or None where nothing can match (after the last day of the calendar)."""
    following = None if day == datetime.date.max else day + datetime.timedelta(days=1)
    match op:
        case Comparison.EQ:
            return day, following
        case Comparison.LT:
            return None, day
        case Comparison.LE:
            return None, following
        case Comparison.GT:
            return None if following is None else (following, None)
        case Comparison.GE:
            return day, None
    raise AssertionError(f"no day bounds for {op}")
