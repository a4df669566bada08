"""Reading ahead on a thread: items arrive in order, errors where they happened, and a
caller that stops early leaves the source closed."""

import threading

import pytest

from apps.datasets.read_ahead import read_ahead


def test_items_arrive_in_order_computed_on_another_thread():
    threads = []

    def numbers():
        for i in range(10):
            threads.append(threading.current_thread())
            yield i

    assert list(read_ahead(numbers(), depth=3)) == list(range(10))
    assert threading.current_thread() not in threads
    assert len(set(threads)) == 1


def test_at_most_depth_items_are_computed_ahead_of_the_caller():
    produced = []

    def numbers():
        for i in range(100):
            produced.append(i)
            yield i

    items = read_ahead(numbers(), depth=2)
    assert next(items) == 0
    assert next(items) == 1
    items.close()
    assert len(produced) <= 4


def test_an_error_is_raised_after_the_items_before_it():
    def failing():
        yield 1
        yield 2
        raise ValueError("line 3 is bad")

    items = read_ahead(failing(), depth=2)
    assert (next(items), next(items)) == (1, 2)
    with pytest.raises(ValueError, match="line 3"):
        next(items)


def test_stopping_early_closes_the_source():
    closed = threading.Event()

    def numbers():
        try:
            yield from range(1000)
        finally:
            closed.set()

    for item in read_ahead(numbers(), depth=2):
        if item == 5:
            break
    assert closed.is_set()


def test_an_error_in_the_caller_closes_the_source():
    closed = threading.Event()

    def numbers():
        try:
            yield from range(1000)
        finally:
            closed.set()

    with pytest.raises(KeyError):
        for item in read_ahead(numbers(), depth=2):
            if item == 1:
                raise KeyError(item)
    assert closed.is_set()


def test_a_depth_below_one_is_refused():
    with pytest.raises(ValueError, match="depth must be 1 or more"):
        next(read_ahead(iter([1]), depth=0))
