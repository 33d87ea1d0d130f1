"""gather: many calls at once, a bounded number at a time, each within its own deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from leasewatch.gather import TimedOut, gather


class Stamps:
    """Start and end times of calls, and the most that ran at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.spans: dict[int, tuple[float, float]] = {}

    def call(self, n: int, seconds: float) -> Callable[[], int]:
        def run() -> int:
            with self.lock:
                self.running += 1
                self.most = max(self.most, self.running)
            start = time.monotonic()
            time.sleep(seconds)
            with self.lock:
                self.running -= 1
                self.spans[n] = (start, time.monotonic())
            return n

        return run


def test_results_come_in_the_order_of_the_calls() -> None:
    """Whatever order they finish in, results keep the calls' order."""
    stamps = Stamps()
    calls = [stamps.call(n, 0.05 * (5 - n)) for n in range(5)]
    assert gather(calls, [10.0] * 5) == [0, 1, 2, 3, 4]


def test_calls_overlap() -> None:
    """Twenty calls of 0.5 s all run at once: each starts before any ends."""
    stamps = Stamps()
    gather([stamps.call(n, 0.5) for n in range(20)], [30.0] * 20)
    assert max(s for s, _ in stamps.spans.values()) < min(e for _, e in stamps.spans.values())
    assert stamps.most == 20


def test_the_limit_bounds_how_many_run_at_once() -> None:
    """With limit 3, nine calls never run more than three at a time, and all answer."""
    stamps = Stamps()
    assert gather([stamps.call(n, 0.1) for n in range(9)], [30.0] * 9, limit=3) == list(range(9))
    assert stamps.most == 3


def test_a_hung_call_times_out_and_delays_no_other() -> None:
    """A call past its deadline is TimedOut; the others answer, and its slot is reused."""
    release = threading.Event()
    stamps = Stamps()

    def hung() -> int:
        release.wait(60)
        return -1

    try:
        started = time.monotonic()
        got = gather([hung, *(stamps.call(n, 0.05) for n in range(4))], [0.3] + [30.0] * 4, limit=2)
        took = time.monotonic() - started
    finally:
        release.set()
    assert isinstance(got[0], TimedOut) and got[0].after == 0.3
    assert got[1:] == [0, 1, 2, 3]
    assert took < 30  # generous: the hung call's 60 s never count


def test_an_exception_is_raised_once_all_are_settled() -> None:
    """A bug in one call surfaces in the caller, after the other calls finished."""
    stamps = Stamps()

    def broken() -> int:
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError, match="bug"):
        gather([broken, stamps.call(1, 0.2)], [10.0, 10.0])
    assert 1 in stamps.spans
