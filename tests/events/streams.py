"""What the event stream tests share: a listener to wait on, and the refused-login check."""

from __future__ import annotations

import threading

from leasewatch.events.interface import EventStream

WAIT = 10.0  # seconds: a bound on waits for threads, never an assertion about speed


class Heard:
    """A listener that notes what the stream says and lets a test wait for it."""

    def __init__(self) -> None:
        self.changes: list[tuple[str, str]] = []
        self.states: list[tuple[bool, str]] = []
        self.lock = threading.Lock()
        self.news = threading.Condition(self.lock)

    def changed(self, inventory: str, stream: str) -> None:
        with self.news:
            self.changes.append((inventory, stream))
            self.news.notify_all()

    def stream_up(self, stream: str, up: bool, reason: str) -> None:
        with self.news:
            self.states.append((up, reason))
            self.news.notify_all()

    def wait_for(self, changes: int = 0, states: int = 0) -> None:
        with self.news:
            assert self.news.wait_for(
                lambda: len(self.changes) >= changes and len(self.states) >= states, WAIT
            ), (self.changes, self.states)


def refused(stream: EventStream, heard: Heard, secret: str) -> str:
    """Run a stream whose credentials are refused until it has failed twice (so it was
    retried); return its first reason, after checking it was down and kept the secret."""
    try:
        stream.start()
        heard.wait_for(states=2)
    finally:
        stream.stop()
    up, reason = heard.states[0]
    assert not up and secret not in reason, reason
    assert heard.changes == []
    return reason
