"""XenAPI events: ``event.from`` long polls on the pool master, classes ``vm`` and ``vif``.

``event.from(classes, token, timeout)`` returns an ``event_batch``: ``events`` (records with
``id``, ``class``, ``operation`` = add/del/mod, ``ref``, ``snapshot``), ``valid_ref_counts``
and the ``token`` to pass next; the empty token means "from now", answered with every object
of the classes (https://xapi-project.github.io/xen-api/classes/event.html). It blocks until
something changes or ``timeout`` seconds pass. ``EVENTS_LOST`` means the token fell behind:
start over from "" and re-read.

Relevant, as hints to re-read the inventory: a VM or VIF deleted (``del``), and a VM whose
power state or template/snapshot flag changed (a VM turned into a template no longer keeps
its lease alive). Everything else (a VM's memory figures, a new VM) is ignored.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from leasewatch.events.interface import EventStream, inventory_errors
from leasewatch.inventory._common import import_sdk
from leasewatch.inventory.xenapi import Lines, XenAPISource, details, logout

CLASSES = ["vm", "vif"]
POLL = 30.0  # seconds each event.from may wait for news (the SDK sample's value)
WATCHED = ("power_state", "is_a_template", "is_a_snapshot")  # VM fields whose change matters


class XenAPIStream(EventStream):
    """``event.from`` on one XenServer / XCP-ng pool."""

    poll = POLL
    _lines: Lines | None = None  # the connection of the current watch(), for interrupt()
    # shared by every XenAPI stream (held for a moment): a second interrupt() must not cut
    # the new connection the one before it made watch() open to log out
    _cutting = threading.Lock()

    def watch(self) -> None:
        with inventory_errors(self.inventory):
            xenapi = import_sdk("XenAPI", "xen", self.stream)
            source = XenAPISource(self.config)
            # a call waits up to `poll` for news: the socket must outlast it
            self._lines = lines = Lines(self.poll + self.config.timeout)
            session, where = source.open_session(xenapi, lines)
            try:
                with source.translated(xenapi, where):
                    self._follow(xenapi, session)
            finally:
                with self._cutting:
                    self._lines = None
                # after a cut, a new connection to log out (sessions pile up on the pool),
                # waiting no longer than any other call
                lines.resume(self.config.timeout)
                logout(session)

    def interrupt(self) -> None:
        """Stopping: cut the connection an ``event.from`` may be blocked on for up to
        ``poll`` seconds; ``watch()`` then ends at once (its loop sees ``stopping``)."""
        super().interrupt()
        with self._cutting:
            if self._lines is not None:
                self._lines.cut()

    def _follow(self, xenapi: Any, session: Any) -> None:
        event_from = getattr(session.xenapi.event, "from")  # "from" is a Python keyword
        known: dict[str, tuple[Any, ...]] = {}
        token = ""
        seeding = True  # the answer to the empty token is the pool as it is now
        up = False
        while not self.stopping.is_set():
            try:
                batch = event_from(CLASSES, token, self.poll)
            except xenapi.Failure as exc:
                if details(exc)[:1] != ["EVENTS_LOST"]:
                    raise
                token, seeding = "", True  # fell behind: start over, and re-read
                known.clear()
                self.event()
                continue
            events, token = _batch(batch)
            changed = any([self._relevant(e, known) for e in events])  # every one noted
            if not up:
                up = True
                self.connected()
            elif changed and not seeding:
                self.event()
            seeding = False

    @staticmethod
    def _relevant(event: Mapping[str, Any], known: dict[str, tuple[Any, ...]]) -> bool:
        kind, operation, ref = event.get("class"), event.get("operation"), event.get("ref")
        if not isinstance(ref, str):
            return False
        if operation == "del":
            known.pop(ref, None)
            return True
        if kind != "vm":
            return False
        snapshot = event.get("snapshot")
        fields = tuple(snapshot.get(f) for f in WATCHED) if isinstance(snapshot, Mapping) else ()
        before = known.get(ref)
        known[ref] = fields
        return before is not None and before != fields


def _batch(batch: Any) -> tuple[list[Mapping[str, Any]], str]:
    """The events and the next token of an ``event_batch``; a malformed one raises."""
    if not isinstance(batch, Mapping):
        raise TypeError("event_batch is not a struct")
    events, token = batch.get("events"), batch.get("token")
    if not isinstance(events, list) or not isinstance(token, str):
        raise TypeError("event_batch without events or token")
    return [e for e in events if isinstance(e, Mapping)], token
