"""Read many sources at once: a bounded pool of threads, each call within its own deadline.

A site with fifty KVM hosts and a few DHCP servers must scan in the time of its slowest
source, not the sum of them (issue 22), and a hung source must delay no other. The sources
are I/O (a command, a socket, HTTP, a file on a network mount), so threads suffice.

Not ``concurrent.futures``: its workers are joined at interpreter exit, so one call hung
for good (a dead NFS mount, a libvirt connection with no client-side timeout) would hold the
process for ever, and a worker stuck in such a call keeps its slot. Here each call runs in a
daemon thread of its own; one still running at its deadline is abandoned (it ends when the
call returns, and never holds up exit) and its slot goes to the next call.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")

LIMIT = 64  # calls at once: 50 sources that take 1 s each answer in about 1 s


class TimedOut:
    """The mark of a call abandoned at its deadline."""

    def __init__(self, after: float) -> None:
        self.after = after

    def __repr__(self) -> str:
        return f"TimedOut({self.after:g})"


class _Failed(Generic[T]):
    def __init__(self, error: BaseException) -> None:
        self.error = error


def gather(
    calls: Sequence[Callable[[], T]],
    timeouts: Sequence[float],
    *,
    limit: int = LIMIT,
    name: str = "leasewatch-read",
) -> list[T | TimedOut]:
    """Run every call, at most ``limit`` at once; results in the order of ``calls``.

    A call still running ``timeouts[i]`` seconds after it started gives ``TimedOut``. An
    exception a call raises is raised here once every call is settled (the callers wrap
    their sources so that only bugs get here).
    """
    if len(calls) != len(timeouts):
        raise ValueError("one timeout per call")
    limit = max(limit, 1)
    results: dict[int, T | TimedOut] = {}
    failure: BaseException | None = None
    finished: queue.SimpleQueue[tuple[int, T | _Failed[T]]] = queue.SimpleQueue()
    running: dict[int, float] = {}  # index -> deadline (monotonic)
    waiting = iter(range(len(calls)))
    pending = len(calls)

    def run(i: int) -> None:
        try:
            finished.put((i, calls[i]()))
        except BaseException as exc:  # handed to the caller's thread
            finished.put((i, _Failed(exc)))

    while pending:
        while len(running) < limit:
            i = next(waiting, None)
            if i is None:
                break
            running[i] = time.monotonic() + timeouts[i]
            threading.Thread(target=run, args=(i,), name=f"{name}-{i}", daemon=True).start()
        try:
            i, value = finished.get(timeout=max(min(running.values()) - time.monotonic(), 0))
        except queue.Empty:
            now = time.monotonic()
            for i, deadline in list(running.items()):
                if deadline <= now:
                    del running[i]
                    results[i] = TimedOut(timeouts[i])
                    pending -= 1
            continue
        if i not in running:
            continue  # it answered after its deadline: already counted as timed out
        del running[i]
        pending -= 1
        if isinstance(value, _Failed):
            failure = failure or value.error
        else:
            results[i] = value
    if failure is not None:
        raise failure
    return [results[i] for i in range(len(calls))]
