"""The daemon's side of the event streams: start them, coalesce their hints, re-read.

Events come in bursts (libvirt sends UNDEFINED and STOPPED ~20 ms apart for one VM): the
first marks the inventory pending, ``SETTLE`` later one worker re-reads every pending
inventory, one at a time. An event that lands while that re-read (or the daemon's scan,
which holds the same lock in the handler) runs marks it pending again: exactly one more
re-read follows, however many events came meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from leasewatch.events.interface import JOIN, EventStream, Listener

log = logging.getLogger("leasewatch.events")

SETTLE = 0.2  # seconds: how long a burst of events may last before the re-read starts


class Status(Protocol):
    """Where the streams' state is shown (``metrics.ScanMetrics``)."""

    def set_event_stream(self, inventory: str, up: bool) -> None: ...

    def count_stream_reconnect(self, inventory: str) -> None: ...

    def count_stream_event(self, inventory: str) -> None: ...


class Pending:
    """The inventories to re-read: marked from any thread, taken by one worker."""

    def __init__(self, settle: float = SETTLE) -> None:
        self.settle = settle
        self._names: dict[str, None] = {}  # insertion-ordered set
        self._cond = threading.Condition()
        self._closed = False

    def mark(self, name: str) -> None:
        with self._cond:
            self._names[name] = None
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def take(self) -> list[str] | None:
        """Block until something is pending, let the burst settle, then take it all;
        None once closed."""
        with self._cond:
            while not self._names and not self._closed:
                self._cond.wait()
            # wait_for returns early only when closed; otherwise the burst settles
            if self._cond.wait_for(lambda: self._closed, timeout=self.settle):
                return None
            names, self._names = list(self._names), {}
            return names


class Watch(Listener):
    """Runs the streams and hands each changed inventory to ``handler`` (one at a time)."""

    def __init__(
        self, handler: Callable[[str], None], status: Status, *, settle: float = SETTLE
    ) -> None:
        self.streams: list[EventStream] = []
        self.handler = handler
        self.status = status
        self.pending = Pending(settle)
        self._up: dict[str, bool] = {}
        self._lock = threading.Lock()
        self._worker = threading.Thread(target=self._work, name="leasewatch-events", daemon=True)

    # --- Listener (the streams' threads) -------------------------------------------------
    def changed(self, inventory: str, stream: str) -> None:
        self.status.count_stream_event(stream)
        self.pending.mark(inventory)

    def stream_up(self, stream: str, up: bool, reason: str) -> None:
        with self._lock:
            was = self._up.get(stream)
            self._up[stream] = up
        self.status.set_event_stream(stream, up)
        if up:
            log.info("event stream %s: connected", stream)
        else:
            self.status.count_stream_reconnect(stream)
            # the first loss is a warning; failed reconnects after it only at debug
            level = logging.WARNING if was in (True, None) else logging.DEBUG
            log.log(level, "event stream %s down, reconnecting: %s", stream, reason)

    # --- the daemon ----------------------------------------------------------------------
    def start(self, streams: Sequence[EventStream]) -> None:
        """Run ``streams`` (built with this watch as their listener)."""
        self.streams = list(streams)
        for stream in self.streams:  # every stream's series from the start: down until up
            self.status.set_event_stream(stream.stream, False)
        self._worker.start()
        for stream in self.streams:
            stream.start()

    def stop(self, wait: bool = False) -> None:
        """Stop the streams; with ``wait``, also wait for a re-read in progress."""
        self.pending.close()
        for stream in self.streams:
            stream.stopping.set()
            stream.interrupt()
        deadline = time.monotonic() + JOIN  # one bound for all: stopping never takes long
        for stream in self.streams:
            stream.stop(max(0.0, deadline - time.monotonic()))
        if wait:
            self._worker.join()

    def _work(self) -> None:
        while (names := self.pending.take()) is not None:
            for name in names:
                try:
                    self.handler(name)
                except Exception:
                    # a bug, not a fault of the data: this re-read is lost, the next
                    # event or the schedule comes again; the traceback is for a report
                    log.exception("re-reading %s after an event crashed (a leasewatch bug)", name)
