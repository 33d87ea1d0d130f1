"""What every event stream shares: a thread, reconnect with backoff, and what it tells.

A stream tells its ``Listener`` three things: the inventory may have changed (re-read it),
the stream is up or down, and it is reconnecting. Connecting counts as a change too: events
may have been missed while the stream was down.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from leasewatch.config import InventoryConfig
from leasewatch.errors import EventsError, InventoryError

log = logging.getLogger("leasewatch.events")

JOIN = 5.0  # seconds: how long stop() waits for a stream's thread


class Listener(Protocol):
    """Who hears a stream (``watch.Watch``); called from the stream's own threads."""

    def changed(self, inventory: str, stream: str) -> None:
        """The inventory may have changed: re-read it (a hint, never a verdict)."""

    def stream_up(self, stream: str, up: bool, reason: str) -> None:
        """The stream connected (``up``) or was lost (``reason`` says why)."""


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: ``first`` seconds, doubling up to ``most``."""

    first: float = 1.0
    most: float = 60.0

    def delay(self, attempt: int) -> float:
        """The wait before reconnect attempt ``attempt`` (0 for the first)."""
        return float(min(self.first * 2 ** min(attempt, 30), self.most))


DEFAULT_BACKOFF = Backoff()


class EventStream(ABC):
    """One connection to one event source of one inventory entry.

    ``watch()`` connects, calls ``connected()``, tells the listener of each relevant event
    and returns (or raises ``EventsError``) when the connection is lost; it must return
    soon after ``self.stopping`` is set (``interrupt()`` sets ``self.wake``). The base class runs
    it in a thread and reconnects with backoff until ``stop()``.
    """

    def __init__(
        self,
        config: InventoryConfig,
        listener: Listener,
        *,
        stream: str | None = None,
        backoff: Backoff = DEFAULT_BACKOFF,
    ) -> None:
        self.inventory = config.name
        self.stream = stream or config.name  # a fleet entry has one stream per host
        self.config = config
        self.listener = listener
        self.backoff = backoff
        self.stopping = threading.Event()
        self.wake = threading.Event()  # set by stop(), and by a subclass's lost connection
        self._attempt = 0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"leasewatch-events-{self.stream}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = JOIN) -> None:
        """Stop and wait up to ``timeout`` seconds for the thread (a daemon thread: one
        still blocked in a long poll is left to end on its own)."""
        self.stopping.set()
        self.interrupt()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        """The stream's thread is still alive (after ``stop()``: it outlived the wait)."""
        return self._thread is not None and self._thread.is_alive()

    def interrupt(self) -> None:
        """Wake ``watch()`` up when stopping (a subclass that blocks elsewhere overrides)."""
        self.wake.set()

    def connected(self) -> None:
        """``watch()`` calls this once connected: the stream is up, the inventory may have
        changed meanwhile, and the next loss starts the backoff afresh."""
        self._attempt = 0
        self.listener.stream_up(self.stream, True, "connected")
        self.listener.changed(self.inventory, self.stream)

    def event(self) -> None:
        """``watch()`` calls this for each relevant event."""
        self.listener.changed(self.inventory, self.stream)

    @abstractmethod
    def watch(self) -> None:
        """Connect and deliver events until the connection is lost or ``stopping``."""

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.watch()
                reason = "connection closed"
            except EventsError as exc:
                reason = str(exc)
            except Exception as exc:
                # a bug or an SDK surprise: the stream goes down and retries like any loss;
                # only the type is shown (SDK messages may carry URLs or credentials)
                reason = f"unexpected {type(exc).__name__}"
                log.debug("event stream %s", self.stream, exc_info=True)
            if self.stopping.is_set():
                break
            self.listener.stream_up(self.stream, False, reason)
            self.stopping.wait(self.backoff.delay(self._attempt))
            self._attempt += 1


@contextlib.contextmanager
def inventory_errors(inventory: str) -> Iterator[None]:
    """A stream that reuses its inventory adapter (login, API client, error words) turns
    the adapter's errors into its own, without the repeated ``inventory NAME:`` prefix."""
    try:
        yield
    except InventoryError as exc:
        raise EventsError(str(exc).removeprefix(f"inventory {inventory}: ")) from None
