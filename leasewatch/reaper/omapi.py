"""Give an orphaned lease's address back to ISC dhcpd over OMAPI (pypureomapi).

dhcpd cannot delete a lease over OMAPI (``dhcp_lease_remove`` answers "not implemented",
server/omapi.c); of a lease's attributes it accepts writes to ``state`` and ``ends`` (and
``flags``); anything else it does not know is kept as a ``set`` variable in the lease's
scope and written to dhcpd.leases (pypureomapi issue #43). So the release is one update
setting ``state = released`` and ``ends`` to now together, on the lease object opened by
its IP address.

Measured against dhcpd 4.4.3-P1 in the labs (tests/reaper/test_omapi.py and
tests/lab/test_failover.py keep proving it):

- ``state = free`` alone (also ``expired`` or ``released``): the state reads back changed,
  but the address stays unusable: a new client gets "no free leases" until the old ``ends``.
- ``ends = now`` alone, on a single server: ``supersede_lease`` runs the lease's own state
  machine at once (``next binding state``, i.e. free) and a new client gets the address
  within a second. On a failover pair it frees **nothing**: the server moves the lease to
  ``expired`` and its partner rejects the binding update ("invalid state transition: active
  to expired", ``normal_binding_state_transition_check`` in server/failover.c), so the
  partner keeps it active.
- ``state = released`` (4) with ``ends = now`` in one update: on a pair, sent to either
  peer, the address is free (or backup, the secondary's share) in both journals within
  1-2 s; on a single server it is free at once and handed out again. One release for both.

dhcpd also records the updating connection's handle in the lease's scope (omapip's
``omapi_object_update`` sets ``remote-handle``), so after a release the journal shows
``set remote-handle = %N;`` in that block, whatever the client sends.
"""

from __future__ import annotations

import binascii
import contextlib
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import IPv4Address
from typing import Any

import pypureomapi

from leasewatch.config import OmapiConfig
from leasewatch.errors import ReleaseError
from leasewatch.model import Lease, Outcome, normalize_mac
from leasewatch.reaper.interface import Held, ReleaseBackend

# Binding states as OMAPI reports them (FTS_* in includes/dhcpd.h).
_STATES = {
    1: "free",
    2: "active",
    3: "expired",
    4: "released",
    5: "abandoned",
    6: "reset",
    7: "backup",
}
_ACTIVE = 2
_RELEASED = 4
_OP_UPDATE = 3
_OP_STATUS = 5
# OMAPI failover-state ``local-state`` values (enum failover_state, includes/failover.h);
# measured in the failover lab: 2 while the peers talk, 3 a second after the peer stops
FAILOVER_STATES = {
    0: "unknown-state",
    1: "startup",
    2: "normal",
    3: "communications-interrupted",
    4: "partner-down",
    5: "potential-conflict",
    6: "recover",
    7: "paused",
    8: "shutdown",
    9: "recover-done",
    10: "resolution-interrupted",
    11: "conflict-done",
    254: "recover-wait",
}
FAILOVER_NORMAL = 2
# isc_result_t codes dhcpd answers with (lib/isc/include/isc/result.h).
_ISC_R_NOTFOUND = 23


@dataclass(frozen=True, slots=True)
class _Current:
    """A lease as dhcpd holds it now (OMAPI open by ip-address)."""

    handle: int
    state: int
    mac: str | None
    ends: int

    @property
    def state_name(self) -> str:
        return _STATES.get(self.state, f"state {self.state}")


class OmapiReleaseBackend(ReleaseBackend):
    """Releases ISC dhcpd leases through OMAPI, one short update per lease."""

    def __init__(
        self,
        server: str,
        config: OmapiConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._clock = clock
        where = f"{config.host}:{config.port}"
        self._where = f"{server} (OMAPI {where})" if server else f"OMAPI {where}"
        self._conn: Any = None

    @property
    def connected(self) -> bool:
        """Whether a connection is open (the reaper must not open one for nothing)."""
        return self._conn is not None

    # ------------------------------------------------------------------ the release

    def release(self, lease: Lease) -> tuple[Outcome, str]:
        """Expire ``lease`` on the server if it is still active for the same MAC."""
        if not isinstance(lease.ip, IPv4Address):
            # OMAPI's lease object is dhcpd's v4 lease: dhcpd -6 leases are out of its reach
            return Outcome.REFUSED, f"OMAPI reaches IPv4 leases only, not {lease.ip}"
        # Look it up again right before the write: dhcpd may have given the address to
        # another client since the leases file was read.
        current = self._lookup(lease.ip)
        held, text = _held(lease, current)
        if current is None or held is not Held.SAME:
            # no lease there, already not active, or another client's: nothing to release
            return (Outcome.NOT_FOUND if current is None else Outcome.CHANGED), text

        now = int(self._clock())
        values = {b"state": struct.pack("!I", _RELEASED), b"ends": struct.pack("!I", now)}
        self._update(lease.ip, current.handle, values)

        after = self._lookup(lease.ip)
        if after is None:
            return Outcome.FAILED, f"{lease.ip} vanished after the update"
        ends_text = datetime.fromtimestamp(after.ends, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        if after.state == _ACTIVE:
            # ends in the server's future: its clock is behind ours, or it refused.
            return Outcome.FAILED, f"{lease.ip} still active after setting ends to {ends_text}"
        detail = f"released, ends set to {ends_text}; dhcpd now says {after.state_name}"
        return Outcome.RELEASED, detail

    def lookup(self, lease: Lease) -> tuple[Held, str] | None:
        """What dhcpd holds at the address now (OMAPI open by ip-address), asked of both
        members of a failover pair before the release goes to one of them."""
        if not isinstance(lease.ip, IPv4Address):
            return None  # ``release`` refuses it, with the reason
        return _held(lease, self._lookup(lease.ip))

    def pair_state(self, relationship: str) -> tuple[str, bool] | None:
        """The failover state with peer ``relationship`` by its name (``failover_state``)."""
        state = self.failover_state(relationship)
        if state is None:
            return None
        name = FAILOVER_STATES.get(state, f"state {state}")
        return name, state == FAILOVER_NORMAL

    def failover_state(self, peer: str) -> int | None:
        """The server's own failover state with ``peer`` (OMAPI ``failover-state``,
        ``local-state``: 2 is normal), or None when it declares no such peer. A dead
        partner's journal keeps saying normal: this is the live word."""
        message = pypureomapi.OmapiMessage.open(b"failover-state")
        message.obj.append((b"name", peer.encode("utf-8")))
        response = self._query(message)
        if response.opcode != _OP_UPDATE:
            if _status_code(response) == _ISC_R_NOTFOUND:
                return None
            why = _status_text(response)
            raise ReleaseError(f"{self._where}: failover-state {peer!r}: {why}")
        return _uint(dict(response.obj).get(b"local-state"))

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()

    # ------------------------------------------------------------------ OMAPI

    def _connect(self) -> Any:
        if self._conn is not None:
            return self._conn
        cfg = self._config
        try:
            self._conn = pypureomapi.Omapi(
                cfg.host,
                cfg.port,
                cfg.key_name.encode("utf-8"),
                cfg.key.reveal().encode("ascii"),
                timeout=cfg.timeout,
            )
        except (binascii.Error, UnicodeEncodeError):
            raise ReleaseError(f"{self._where}: the key is not valid base64") from None
        except Exception as exc:
            _close_leaked_socket(exc)
            raise self._error(exc, connecting=True) from None
        return self._conn

    def _query(self, message: Any) -> Any:
        conn = self._connect()
        try:
            return conn.query_server(message)
        except Exception as exc:
            self._drop()
            raise self._error(exc, connecting=False) from None

    def _open(self, ip: IPv4Address) -> Any:
        message = pypureomapi.OmapiMessage.open(b"lease")
        message.obj.append((b"ip-address", ip.packed))
        return self._query(message)

    def _lookup(self, ip: IPv4Address) -> _Current | None:
        """The lease dhcpd holds for ``ip`` right now, or None if it has none."""
        response = self._open(ip)
        if response.opcode != _OP_UPDATE:
            code = _status_code(response)
            if code == _ISC_R_NOTFOUND:
                return None
            raise ReleaseError(f"{self._where}: lookup of {ip} failed: {_status_text(response)}")
        obj = dict(response.obj)
        state = _uint(obj.get(b"state"))
        ends = _uint(obj.get(b"ends"))
        raw_mac = obj.get(b"hardware-address")
        mac = normalize_mac(raw_mac.hex()) if raw_mac else None
        return _Current(handle=response.handle, state=state, mac=mac, ends=ends)

    def _update(self, ip: IPv4Address, handle: int, values: dict[bytes, bytes]) -> None:
        message = pypureomapi.OmapiMessage.update(handle)
        message.obj.extend(values.items())
        response = self._query(message)
        if response.opcode != _OP_STATUS or _status_code(response) != 0:
            raise ReleaseError(f"{self._where}: update of {ip} refused: {_status_text(response)}")

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()

    def _error(self, exc: BaseException, *, connecting: bool) -> ReleaseError:
        """One line naming the server and what went wrong; never the key."""
        timeout = self._config.timeout
        if isinstance(exc, ConnectionRefusedError):
            why = "connection refused (is dhcpd running with omapi-port set?)"
        elif isinstance(exc, TimeoutError | socket.timeout):
            why = f"no answer within {timeout:g}s"
        elif isinstance(exc, socket.gaierror):
            why = f"cannot resolve host: {exc.strerror}"
        elif isinstance(exc, OSError):
            why = exc.strerror or type(exc).__name__
        elif connecting or any(m in str(exc) for m in _AUTH_MARKERS):
            # An unknown key name fails the authenticator open; a wrong secret is noticed
            # on the first signed request: dhcpd answers it unsigned ("invalid signature").
            why = f"authentication failed: check key_name and key ({_omapi_reason(exc)})"
        else:
            why = f"OMAPI error: {_omapi_reason(exc)}"
        return ReleaseError(f"{self._where}: {why}")


def _held(lease: Lease, current: _Current | None) -> tuple[Held, str]:
    """What dhcpd's ``current`` lease at the address means for ``lease`` (a v4 lease)."""
    if current is None:
        return Held.NONE, f"dhcpd has no lease for {lease.ip}"
    if current.state != _ACTIVE:
        return Held.NONE, f"{lease.ip} is already {current.state_name}"
    if current.mac != lease.mac:
        return Held.OTHER, f"{lease.ip} now belongs to {current.mac or 'no MAC'}"
    return Held.SAME, f"{lease.ip} active for {current.mac}"


# pypureomapi's fixed messages when dhcpd rejects our signature.
_AUTH_MARKERS = ("signature", "authenticator", "non-update response for open")


def _close_leaked_socket(exc: BaseException) -> None:
    """Close the socket pypureomapi leaves open when ``Omapi()`` itself raises.

    ``TCPClientTransport.__init__`` does not close its socket when connect() fails, nor
    does ``Omapi.__init__`` when the handshake or the authenticator open fails; the
    half-built objects are out of our reach but still on the traceback's frames.
    """
    tb = exc.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        transport = getattr(owner, "transport", owner)
        if isinstance(transport, pypureomapi.TCPClientTransport):
            transport.close()
        tb = tb.tb_next


def _uint(raw: bytes | None) -> int:
    if raw is None or len(raw) != 4:
        return 0
    value: int = struct.unpack("!I", raw)[0]
    return value


def _status_code(response: Any) -> int:
    return _uint(dict(response.message).get(b"result"))


def _status_text(response: Any) -> str:
    message = dict(response.message)
    text = message.get(b"message", b"").decode("utf-8", "replace")
    return f"{text or 'status'} (result {_status_code(response)})"


def _omapi_reason(exc: BaseException) -> str:
    # pypureomapi's messages are fixed strings ("connection closed", "bad omapi message
    # signature", ...): safe to show, they never contain the key.
    return str(exc) or type(exc).__name__
