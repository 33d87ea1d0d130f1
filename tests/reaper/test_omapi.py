"""OmapiReleaseBackend against a real dhcpd 4.4 with real dhclient VMs (tests/../lab)."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator
from ipaddress import IPv4Address

import pypureomapi
import pytest

from lab.isc import IscLab
from leasewatch.config import OmapiConfig, Secret
from leasewatch.errors import ReleaseError
from leasewatch.model import BindingState, Lease, Outcome
from leasewatch.reaper.omapi import OmapiReleaseBackend

pytestmark = pytest.mark.lab


def _lease(ip: IPv4Address | None, mac: str) -> Lease:
    assert ip is not None
    return Lease(ip=ip, state=BindingState.ACTIVE, mac=mac, server="lab")


def _omapi_state(lab: IscLab, ip: IPv4Address) -> tuple[int, bytes | None]:
    """(state, hardware-address) of the lease dhcpd holds for ``ip``, read with pypureomapi."""
    conn = pypureomapi.Omapi(
        lab.omapi_host, lab.omapi_port, lab.key_name.encode(), lab.key.encode(), timeout=5
    )
    try:
        message = pypureomapi.OmapiMessage.open(b"lease")
        message.obj.append((b"ip-address", ip.packed))
        obj = dict(conn.query_server(message).obj)
    finally:
        conn.close()
    return struct.unpack("!I", obj[b"state"])[0], obj.get(b"hardware-address")


def test_release_frees_the_address_for_a_new_vm(small_isc_lab: IscLab) -> None:
    """A destroyed VM's lease, released over OMAPI, goes to the next VM; the live one is kept."""
    lab = small_isc_lab
    gone, alive = lab.boot(2)
    lab.destroy(gone)
    backend = OmapiReleaseBackend("lab", lab.omapi_config())
    try:
        outcome, detail = backend.release(_lease(gone.ip, gone.mac))
    finally:
        backend.close()
    assert outcome is Outcome.RELEASED, detail
    assert "dhcpd now says free" in detail
    newcomer = lab.boot(1, timeout=10)[0]
    assert newcomer.ip == gone.ip
    state, mac = _omapi_state(lab, alive.ip or IPv4Address(0))
    assert state == 2 and mac is not None and mac.hex(":") == alive.mac


def test_setting_state_free_alone_leaves_the_address_unusable(small_isc_lab: IscLab) -> None:
    """Why the backend writes ``ends``: ``state = free`` alone keeps the address from new VMs."""
    lab = small_isc_lab
    gone, _ = lab.boot(2)
    lab.destroy(gone)
    assert gone.ip is not None
    conn = pypureomapi.Omapi(
        lab.omapi_host, lab.omapi_port, lab.key_name.encode(), lab.key.encode(), timeout=5
    )
    try:
        message = pypureomapi.OmapiMessage.open(b"lease")
        message.obj.append((b"ip-address", gone.ip.packed))
        handle = conn.query_server(message).handle
        update = pypureomapi.OmapiMessage.update(handle)
        update.obj.append((b"state", struct.pack("!I", 1)))
        assert conn.query_server(update).opcode == pypureomapi.OMAPI_OP_STATUS
    finally:
        conn.close()
    assert _omapi_state(lab, gone.ip)[0] == 1  # dhcpd says "free"...
    assert lab.boot(1, timeout=5)[0].ip is None  # ...but hands it to nobody


def test_release_refuses_when_the_mac_changed(small_isc_lab: IscLab) -> None:
    """A lease now held by another MAC is left alone: CHANGED, and still active."""
    vm = small_isc_lab.boot(1)[0]
    backend = OmapiReleaseBackend("lab", small_isc_lab.omapi_config())
    try:
        outcome, detail = backend.release(_lease(vm.ip, "02:00:00:00:00:01"))
    finally:
        backend.close()
    assert outcome is Outcome.CHANGED
    assert vm.mac in detail
    assert vm.ip is not None and _omapi_state(small_isc_lab, vm.ip)[0] == 2


def test_release_of_an_address_dhcpd_does_not_know_is_not_found(small_isc_lab: IscLab) -> None:
    """An address outside every range (a static) has no lease object: NOT_FOUND."""
    backend = OmapiReleaseBackend("lab", small_isc_lab.omapi_config())
    try:
        outcome, _ = backend.release(_lease(IPv4Address("198.18.1.194"), "02:00:00:00:00:02"))
    finally:
        backend.close()
    assert outcome is Outcome.NOT_FOUND


def test_bad_key_is_one_line_naming_the_server_without_the_key(small_isc_lab: IscLab) -> None:
    """A wrong secret fails with the server's host:port and never the key itself."""
    wrong = "c2VjcmV0LXRoYXQtaXMtd3Jvbmc="
    config = OmapiConfig(
        host=small_isc_lab.omapi_host,
        port=small_isc_lab.omapi_port,
        key_name=small_isc_lab.key_name,
        key=Secret(wrong),
        timeout=3,
    )
    backend = OmapiReleaseBackend("dhcp1", config)
    with pytest.raises(ReleaseError) as info:
        backend.release(_lease(IPv4Address("198.18.1.202"), "02:00:00:00:00:03"))
    message = str(info.value)
    assert f"127.0.0.1:{small_isc_lab.omapi_port}" in message and "dhcp1" in message
    assert "authentication failed" in message
    assert wrong not in message and small_isc_lab.key not in message
    assert "\n" not in message


def test_unknown_key_name_is_an_authentication_error(small_isc_lab: IscLab) -> None:
    """A key name dhcpd does not know is reported like a bad key."""
    config = OmapiConfig(
        host=small_isc_lab.omapi_host,
        port=small_isc_lab.omapi_port,
        key_name="nobody",
        key=Secret(small_isc_lab.key),
        timeout=3,
    )
    with pytest.raises(ReleaseError, match="authentication failed") as info:
        OmapiReleaseBackend("lab", config).release(
            _lease(IPv4Address("198.18.1.202"), "02:00:00:00:00:04")
        )
    assert small_isc_lab.key not in str(info.value)


def test_key_that_is_not_base64_is_a_clear_error() -> None:
    """A malformed key is named as such, without echoing it."""
    config = OmapiConfig("127.0.0.1", 7911, "k", Secret("not base64!!"), timeout=1)
    with pytest.raises(ReleaseError, match="not valid base64") as info:
        OmapiReleaseBackend("lab", config)._connect()
    assert "not base64!!" not in str(info.value)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_closed_port_is_connection_refused_naming_the_server() -> None:
    """Nothing listening: 'connection refused' with host:port, and no connection kept."""
    port = _closed_port()
    backend = OmapiReleaseBackend(
        "lab", OmapiConfig("127.0.0.1", port, "k", Secret("a2V5"), timeout=2)
    )
    with pytest.raises(ReleaseError, match=rf"lab \(OMAPI 127.0.0.1:{port}\): connection refused"):
        backend.release(_lease(IPv4Address("198.18.1.202"), "02:00:00:00:00:05"))
    assert not backend.connected


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback TCP server that accepts and never says a word."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        server.close()
        for conn in accepted:
            conn.close()


def test_silent_server_times_out(silent_server: int) -> None:
    """A server that never answers the OMAPI handshake gives a timeout naming it."""
    config = OmapiConfig("127.0.0.1", silent_server, "k", Secret("a2V5"), timeout=0.5)
    started = time.monotonic()
    with pytest.raises(
        ReleaseError, match=rf"\(OMAPI 127.0.0.1:{silent_server}\): no answer within 0.5s"
    ):
        OmapiReleaseBackend("lab", config).release(
            _lease(IPv4Address("198.18.1.202"), "02:00:00:00:00:06")
        )
    assert time.monotonic() - started < 3


def test_backend_connects_lazily() -> None:
    """Creating the backend opens no connection, even to a server that does not exist."""
    backend = OmapiReleaseBackend(
        "lab", OmapiConfig("127.0.0.1", _closed_port(), "k", Secret("a2V5"))
    )
    assert not backend.connected
    backend.close()
