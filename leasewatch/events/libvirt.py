"""libvirt domain lifecycle events (``virConnectDomainEventRegisterAny``).

libvirt delivers events only through an event loop: ``virEventRegisterDefaultImpl()`` must
run before the connection opens, and ``virEventRunDefaultImpl()`` must be called over and
over in a thread (https://libvirt.org/html/libvirt-libvirt-event.html). That loop is one per
process, so it is started once here, guarded by a lock. The same loop runs the keepalive
pings that notice a dead peer, and the close callback that ends ``watch()``.

Every lifecycle event is a hint to re-read the inventory, never "this VM is gone": with
libvirt 9.0, undefining a running domain sends UNDEFINED while the domain stays listed until
it is destroyed, and that destroy sends only STOPPED.
"""

from __future__ import annotations

import contextlib
import threading
from types import ModuleType
from typing import Any

from leasewatch.config import InventoryConfig
from leasewatch.errors import EventsError, InventoryError
from leasewatch.events.interface import DEFAULT_BACKOFF, Backoff, EventStream, Listener
from leasewatch.inventory._common import import_sdk, one_line, with_deadline

# keepalive: a ping every KEEPALIVE seconds, the peer dead after KEEPALIVE_COUNT unanswered
KEEPALIVE = 5
KEEPALIVE_COUNT = 3
CLOSE_REASONS = {0: "error", 1: "end of file", 2: "keepalive timeout", 3: "closed by client"}

_loop_lock = threading.Lock()
_loop_started: list[bool] = []  # process-wide, as libvirt's default event loop is


def _event_loop(libvirt: ModuleType) -> None:
    """Register libvirt's default event loop and run it in a thread, once per process."""
    with _loop_lock:
        if _loop_started:
            return
        libvirt.virEventRegisterDefaultImpl()

        def run() -> None:
            while True:
                libvirt.virEventRunDefaultImpl()

        threading.Thread(target=run, name="leasewatch-libvirt-events", daemon=True).start()
        _loop_started.append(True)


class LibvirtStream(EventStream):
    """Lifecycle events of every domain on one libvirt URI."""

    def __init__(
        self,
        config: InventoryConfig,
        listener: Listener,
        *,
        uri: str,
        stream: str | None = None,
        backoff: Backoff = DEFAULT_BACKOFF,
    ) -> None:
        super().__init__(config, listener, stream=stream, backoff=backoff)
        self.uri = uri
        self._closed: str | None = None

    def start(self) -> None:
        """Register libvirt's event loop now, in the caller's thread: before any other
        connection of the process opens (a scan's); a missing SDK is watch()'s to say."""
        with contextlib.suppress(InventoryError):
            _event_loop(import_sdk("libvirt", "libvirt", self.stream))
        super().start()

    def watch(self) -> None:
        try:
            libvirt = import_sdk("libvirt", "libvirt", self.stream)
        except InventoryError as exc:
            raise EventsError(str(exc)) from None
        # libvirt's own handler prints every error to stderr; ours are raised as one line
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
        _event_loop(libvirt)
        self.wake.clear()
        if self.stopping.is_set():  # stop() came before the clear
            return
        self._closed = None
        conn = self._open(libvirt)
        callback: int | None = None
        try:
            conn.registerCloseCallback(self._on_close, None)
            # a local (in-process) driver has no keepalive and says so: nothing to ping then
            with contextlib.suppress(libvirt.libvirtError):
                conn.setKeepAlive(KEEPALIVE, KEEPALIVE_COUNT)
            callback = conn.domainEventRegisterAny(
                None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._on_event, None
            )
        except libvirt.libvirtError as exc:
            _close(libvirt, conn, callback)
            raise EventsError(f"{self.uri}: {_message(exc)}") from None
        self.connected()
        try:
            self.wake.wait()
        finally:
            _close(libvirt, conn, callback)
        if self._closed is not None:
            raise EventsError(f"{self.uri}: connection lost ({self._closed})")

    def _open(self, libvirt: ModuleType) -> Any:
        """A read-only connection, within the inventory's timeout (libvirt has none)."""

        def open_() -> Any:
            try:
                return libvirt.openReadOnly(self.uri)
            except libvirt.libvirtError as exc:
                raise EventsError(f"cannot connect to {self.uri}: {_message(exc)}") from None

        try:
            return with_deadline(self.stream, self.config.timeout, f"libvirt {self.uri}", open_)
        except InventoryError as exc:  # the deadline's own words
            raise EventsError(str(exc)) from None

    def _on_event(self, conn: Any, domain: Any, event: int, detail: int, opaque: Any) -> None:
        self.event()

    def _on_close(self, conn: Any, reason: int, opaque: Any) -> None:
        self._closed = CLOSE_REASONS.get(reason, f"reason {reason}")
        self.wake.set()


def _close(libvirt: ModuleType, conn: Any, callback: int | None) -> None:
    """Undo the registrations and close; a dead connection refuses each, which is fine."""
    if callback is not None:
        with contextlib.suppress(libvirt.libvirtError):
            conn.domainEventDeregisterAny(callback)
    with contextlib.suppress(libvirt.libvirtError):
        conn.unregisterCloseCallback()
    with contextlib.suppress(libvirt.libvirtError):
        conn.close()


def _message(exc: Any) -> str:
    text = exc.get_error_message() if hasattr(exc, "get_error_message") else None
    return one_line(str(text or exc))
