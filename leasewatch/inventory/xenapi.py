"""Inventory from XenServer / XCP-ng through XAPI (the ``XenAPI`` SDK, XML-RPC).

Facts from the XenAPI reference (https://xapi-project.github.io/xen-api/) a naive adapter
gets wrong:

- snapshots are templates too (``is_a_template`` is set on them) and keep the source VM's
  MAC: a snapshot of a deleted VM must not keep that VM's lease alive;
- ``VIF.MAC`` keeps the case it was typed in;
- VIFs of halted VMs have ``currently_attached = false``; a halted VM will boot again, so
  that flag is not a filter;
- a pool member answers ``HOST_IS_SLAVE`` with only the master's address, and the SDK never
  follows it (XenAPI.py just raises ``Failure``): we reconnect to the master once.
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import socket
import ssl
import threading
import xml.parsers.expat
import xmlrpc.client
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from leasewatch import tls
from leasewatch.config import InventoryConfig, Secret
from leasewatch.errors import InventoryError
from leasewatch.inventory._common import fail, import_sdk, one_line, shown
from leasewatch.inventory.interface import InventorySource
from leasewatch.model import normalize_mac

_ORIGINATOR = "leasewatch"


class _RedirectError(Exception):
    """The host asked is a pool member; the master is at ``address``."""

    def __init__(self, address: str) -> None:
        super().__init__(address)
        self.address = address


class Lines:
    """The sockets of one source's XML-RPC calls, so that another thread can cut them.

    ``event.from`` blocks on the pool master for up to its (server-side) timeout; closing
    the socket under it from the stopping thread ends it at once, whatever that timeout.
    Every connection is checked in right after it connects: a cut that lands between
    ``make_connection`` and ``connect`` refuses the new socket instead of missing it.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout  # seconds each socket waits; read when a connection opens
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._cut = False

    def opened(self, sock: socket.socket) -> None:
        with self._lock:
            if not self._cut:
                self._open.add(sock)
                return
        sock.close()
        raise ConnectionAbortedError(errno.ECONNABORTED, "connection cut: stopping")

    def cut(self) -> None:
        """End every call in progress now and refuse new connections until ``resume``."""
        with self._lock:
            self._cut = True
            cutting, self._open = self._open, set()
        for sock in cutting:
            with contextlib.suppress(OSError):
                # socket.socket's own shutdown, also for an SSLSocket: a TLS close_notify
                # from this thread would race the read blocked in the other one
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def resume(self, timeout: float) -> None:
        """Allow connections again (to log out), each waiting ``timeout`` seconds."""
        with self._lock:
            self._cut = False
            self.timeout = timeout


class _Connection(http.client.HTTPConnection):
    def __init__(self, host: str, lines: Lines) -> None:
        super().__init__(host, timeout=lines.timeout)
        self._lines = lines

    def connect(self) -> None:
        super().connect()
        self._lines.opened(self.sock)


class _TlsConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, lines: Lines, context: ssl.SSLContext) -> None:
        super().__init__(host, timeout=lines.timeout, context=context)
        self._lines = lines

    def connect(self) -> None:
        super().connect()
        self._lines.opened(self.sock)


class _Transport(xmlrpc.client.Transport):
    """XML-RPC over HTTP or HTTPS (with our TLS context) whose sockets time out (the
    stdlib's never do) and can be cut from another thread (``Lines``)."""

    def __init__(self, lines: Lines, context: ssl.SSLContext | None) -> None:
        super().__init__()
        self._lines = lines
        self._context = context

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        # as the stdlib's: one kept-alive connection per transport (xmlrpc/client.py)
        if self._connection[1] is not None and host == self._connection[0]:
            return self._connection[1]
        chost, self._extra_headers, _x509 = self.get_host_info(host)
        conn: http.client.HTTPConnection
        if self._context is None:
            conn = _Connection(chost, self._lines)
        else:
            conn = _TlsConnection(chost, self._lines, self._context)
        self._connection = host, conn
        return conn


class XenAPISource(InventorySource):
    """Lists the MACs of the VMs of one XenServer / XCP-ng pool."""

    def __init__(self, config: InventoryConfig) -> None:
        super().__init__(config.name, config.kind, config.networks)
        if not config.url or not config.username or config.password is None:
            raise fail(config.name, "url, username and password are required")
        parts = urlsplit(config.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise fail(
                config.name, f"url: expected https://HOST or http://HOST, got {parts.scheme}://..."
            )
        self.url = config.url
        self.username = config.username
        self.password: Secret = config.password
        self.verify_ssl = config.verify_ssl
        self.tls_ca = config.tls_ca
        self.timeout = config.timeout

    def macs(self) -> frozenset[str]:
        xenapi = import_sdk("XenAPI", "xen", self.name)
        session, where = self.open_session(xenapi)
        try:
            with self.translated(xenapi, where):
                vms = session.xenapi.VM.get_all_records()
                vifs = session.xenapi.VIF.get_all_records()
                return self._live_macs(where, vms, vifs)
        finally:
            logout(session)

    def open_session(self, xenapi: ModuleType, lines: Lines | None = None) -> tuple[Any, str]:
        """A session logged in on the pool master (a member's HOST_IS_SLAVE followed once)
        whose calls go through ``lines`` (by default: ``timeout`` seconds each, never cut),
        and where it is (host:port)."""
        lines = lines or Lines(self.timeout)
        try:
            return self._login(xenapi, self.url, lines)
        except _RedirectError as redirect:
            master = _master_url(self.url, redirect.address)
            try:
                return self._login(xenapi, master, lines)
            except _RedirectError as again:
                raise fail(
                    self.name,
                    f"{_where(master)} is a pool member too (master at {again.address})",
                ) from None

    def _login(self, xenapi: ModuleType, url: str, lines: Lines) -> tuple[Any, str]:
        where = _where(url)
        with self.translated(xenapi, where):
            session = xenapi.Session(url, transport=self._transport(url, lines))
            try:
                session.login_with_password(
                    self.username, self.password.reveal(), "1.0", _ORIGINATOR
                )
            except xenapi.Failure as exc:
                found = details(exc)
                if found[:1] == ["HOST_IS_SLAVE"] and len(found) > 1:
                    raise _RedirectError(str(found[1])) from None
                if found[:1] == ["SESSION_AUTHENTICATION_FAILED"]:
                    raise fail(
                        self.name, f"{where}: login refused for {self.username} (wrong password?)"
                    ) from None
                raise
            return session, where

    @contextlib.contextmanager
    def translated(self, xenapi: ModuleType, where: str) -> Iterator[None]:
        """Turn what the SDK, the socket, TLS and XML-RPC raise into one-line
        ``InventoryError``s naming ``where``."""
        try:
            yield
        except (InventoryError, _RedirectError):
            raise
        except tls.CaFileError as exc:
            raise fail(self.name, str(exc)) from None
        except xenapi.Failure as exc:
            code = details(exc)[:1] or ["?"]
            # only the error code: parameters may echo what we sent
            raise fail(self.name, f"{where}: XAPI error {shown(str(code[0]))}") from None
        except TimeoutError:  # socket.timeout is an alias of it
            raise fail(self.name, f"{where}: timed out after {self.timeout:g}s") from None
        except ssl.SSLError as exc:
            raise fail(
                self.name, f"{where}: {tls.reason(exc, self.tls_ca, can_skip=True)}"
            ) from None
        except OSError as exc:
            reason = exc.strerror or one_line(str(exc))
            raise fail(self.name, f"{where}: cannot connect: {reason}") from None
        except xmlrpc.client.ProtocolError as exc:
            raise fail(self.name, f"{where}: HTTP {exc.errcode} {one_line(exc.errmsg)}") from None
        except xmlrpc.client.Fault as exc:
            # XenAPI.py turns a connect ETIMEDOUT into Fault 504 and an answer without the
            # Status envelope into Fault 500 (or a TypeError, see below)
            if exc.faultCode == 504:
                raise fail(self.name, f"{where}: timed out after {self.timeout:g}s") from None
            raise fail(self.name, f"{where}: malformed answer (fault {exc.faultCode})") from None
        except (
            xmlrpc.client.ResponseError,
            xml.parsers.expat.ExpatError,
            http.client.HTTPException,
            TypeError,
            ValueError,
            KeyError,
            AttributeError,
        ) as exc:
            # XenAPI._parse_result raises TypeError or Fault on an answer without "Status"
            raise fail(self.name, f"{where}: malformed answer ({type(exc).__name__})") from None

    def _transport(self, url: str, lines: Lines) -> xmlrpc.client.Transport:
        if urlsplit(url).scheme == "http":
            return _Transport(lines, None)
        return _Transport(lines, tls.load_ca(self.tls_ca, self.verify_ssl))

    def _live_macs(self, where: str, vms: Any, vifs: Any) -> frozenset[str]:
        if not isinstance(vms, Mapping) or not isinstance(vifs, Mapping):
            raise fail(self.name, f"{where}: malformed answer (records are not a map)")
        live: set[str] = set()
        for ref, vm in vms.items():
            if not isinstance(vm, Mapping):
                raise fail(self.name, f"{where}: malformed answer (VM {shown(str(ref))})")
            flags = [vm.get(k) for k in ("is_a_template", "is_a_snapshot", "is_control_domain")]
            if not all(isinstance(f, bool) for f in flags):
                raise fail(self.name, f"{where}: malformed VM record {shown(str(ref))}")
            if not any(flags):
                live.add(str(ref))
        found: set[str] = set()
        for ref, vif in vifs.items():
            if not isinstance(vif, Mapping) or not isinstance(vif.get("MAC"), str):
                raise fail(self.name, f"{where}: malformed VIF record {shown(str(ref))}")
            if vif.get("VM") not in live:
                continue
            mac = normalize_mac(vif["MAC"])
            if mac is None:
                raise fail(
                    self.name,
                    f"{where}: VIF {shown(str(ref))}: expected a MAC, got {shown(vif['MAC'])}",
                )
            found.add(mac)
        return frozenset(found)


def details(exc: Any) -> list[Any]:
    """A XenAPI ``Failure``'s ErrorDescription (its code first), or []."""
    found = getattr(exc, "details", None)
    return list(found) if isinstance(found, list | tuple) else []


def logout(session: Any) -> None:
    """Log out so that sessions do not pile up on the pool (XAPI caps them per user)."""
    # the MACs are already read: a failed logout changes nothing about them
    with contextlib.suppress(Exception):
        session.xenapi.session.logout()


def _where(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1] or url  # never show userinfo from a URL


def _master_url(url: str, address: str) -> str:
    """The pool master's URL: same scheme and port, the host from HOST_IS_SLAVE."""
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
