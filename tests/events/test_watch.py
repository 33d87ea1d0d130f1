"""The event room's shared parts: backoff, coalescing, the stream's reconnect loop."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from leasewatch.config import InventoryConfig
from leasewatch.errors import EventsError
from leasewatch.events.interface import Backoff, EventStream, Listener
from leasewatch.events.watch import Pending, Watch

WAIT = 10.0  # seconds: a bound on waits for threads, never an assertion about speed


class Recorder:
    """Records what a watch tells the metrics (the real ``ScanMetrics`` side is tested in
    tests/test_metrics_events.py)."""

    def __init__(self) -> None:
        self.up: list[tuple[str, bool]] = []
        self.reconnects: list[str] = []
        self.events: list[str] = []

    def set_event_stream(self, stream: str, up: bool) -> None:
        self.up.append((stream, up))

    def count_stream_reconnect(self, stream: str) -> None:
        self.reconnects.append(stream)

    def count_stream_event(self, stream: str) -> None:
        self.events.append(stream)


class Captured(logging.Handler):
    """Records of the events logger, caught on that logger itself: the daemon's logging
    setup (run in-process by other tests) stops ``leasewatch`` records at ``leasewatch``."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def captured() -> Iterator[Captured]:
    logger = logging.getLogger("leasewatch.events")
    handler, level = Captured(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_backoff_doubles_up_to_its_cap() -> None:
    """Reconnect delays double from the first and stop at the cap."""
    backoff = Backoff(first=1.0, most=60.0)
    assert [backoff.delay(n) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff.delay(10_000) == 60


def test_a_burst_of_events_is_one_reread() -> None:
    """Many marks before a take are one re-read per inventory, in the order first marked."""
    pending = Pending(settle=0.0)
    for name in ("kvm", "xen", "kvm", "kvm"):
        pending.mark(name)
    assert pending.take() == ["kvm", "xen"]
    pending.close()
    assert pending.take() is None


def test_events_during_a_reread_cause_exactly_one_more() -> None:
    """Five events while a re-read runs make one more re-read after it, not five."""
    calls: list[str] = []
    inside, release, second = threading.Event(), threading.Event(), threading.Event()

    def handler(name: str) -> None:
        calls.append(name)
        if len(calls) == 1:
            inside.set()
            assert release.wait(WAIT)
        else:
            second.set()

    watch = Watch(handler, Recorder(), settle=0.0)
    watch.start([])
    watch.changed("kvm", "kvm")
    assert inside.wait(WAIT)
    for _ in range(5):
        watch.changed("kvm", "kvm")
    release.set()
    assert second.wait(WAIT)
    watch.stop(wait=True)
    assert calls == ["kvm", "kvm"]


class Flaky(EventStream):
    """A stream whose first ``failures`` connects fail, then stays connected until stopped:
    the reconnect loop of the real base class under test, with no hypervisor at all."""

    def __init__(self, listener: Listener, failures: int) -> None:
        config = InventoryConfig(name="hv", kind="libvirt", uri=("test:///default",))
        super().__init__(config, listener, backoff=Backoff(first=0.01, most=0.02))
        self.failures = failures
        self.attempts = 0

    def watch(self) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise EventsError(f"cannot connect (attempt {self.attempts})")
        self.connected()
        self.wake.wait()


def test_a_stream_reconnects_with_backoff_and_says_so_once() -> None:
    """Two failed connects: down twice (one warning), then up, and a re-read on connect."""
    recorder = Recorder()
    reread = threading.Event()
    watch = Watch(lambda name: reread.set(), recorder, settle=0.0)
    stream = Flaky(watch, failures=2)
    with captured() as log:
        watch.start([stream])
        assert reread.wait(WAIT)
        watch.stop()
    assert recorder.up == [("hv", False), ("hv", False), ("hv", False), ("hv", True)]
    assert recorder.reconnects == ["hv", "hv"]
    warnings = [r.getMessage() for r in log.records if r.levelno == logging.WARNING]
    assert warnings == ["event stream hv down, reconnecting: cannot connect (attempt 1)"]


def test_a_crashing_handler_loses_one_reread_not_the_watch() -> None:
    """A handler that raises is logged with its traceback; the next event is handled."""
    calls: list[str] = []
    done = threading.Event()

    def handler(name: str) -> None:
        calls.append(name)
        if len(calls) == 1:
            raise RuntimeError("boom")
        done.set()

    watch = Watch(handler, Recorder(), settle=0.0)
    watch.start([])
    watch.changed("kvm", "kvm")
    with captured() as log:
        while not done.is_set() and len(calls) < 2:
            watch.changed("kvm", "kvm")
            done.wait(0.05)
        assert done.wait(WAIT)
    watch.stop(wait=True)
    assert any("crashed" in r.getMessage() and r.exc_info for r in log.records)
