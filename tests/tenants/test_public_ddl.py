"""Schemas migrated at once (migrate_schemas' multiprocessing executor) replace the functions
they share in public in turn, rather than failing with "tuple concurrently updated"."""

from __future__ import annotations

import threading

from django.db import connections

from search.triggers import CREATE_FUNCTION

SESSIONS = 2
REPLACEMENTS = 100  # unwrapped, about one in ten of these fails


def test_sessions_replacing_the_outbox_function_at_once_all_succeed(live_db):
    barrier = threading.Barrier(SESSIONS)
    errors: list[str] = []

    def replace() -> None:
        try:
            barrier.wait()
            with connections["default"].cursor() as cursor:
                for _ in range(REPLACEMENTS):
                    cursor.execute(CREATE_FUNCTION)
        # Any error at all is the finding, "tuple concurrently updated" the expected one.
        except Exception as exc:
            errors.append(str(exc))
        finally:
            connections["default"].close()

    threads = [threading.Thread(target=replace) for _ in range(SESSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
