"""The ISC parser against files a real dhcpd 4.4 wrote for real dhclient VMs."""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import IPv4Address

import pytest

from lab.isc import FixedHost, IscLab
from leasewatch.config import ServerConfig
from leasewatch.leases import kinds
from leasewatch.model import Address, BindingState, ServerSnapshot
from leasewatch.reaper.omapi import OmapiReleaseBackend

pytestmark = pytest.mark.lab


def _read(lab: IscLab) -> ServerSnapshot:
    config = ServerConfig(name="lab", kind="isc", leases=lab.leases_path, dhcpd_conf=lab.conf_path)
    return kinds.build(config).read()


def _current(snapshot: ServerSnapshot) -> dict[str, Address]:
    now = datetime.now(UTC)
    return {x.mac: x.ip for x in snapshot.leases if x.mac and x.is_active(now)}


def test_active_leases_match_the_vms(isc_lab: IscLab) -> None:
    """Every booted VM's MAC maps to the address its dhclient holds; the range is the pool."""
    vms = isc_lab.boot(5)
    assert all(vm.ip is not None for vm in vms)
    snapshot = _read(isc_lab)
    assert snapshot.error is None and snapshot.complete
    assert _current(snapshot) == {vm.mac: vm.ip for vm in vms}
    assert [(r.first, r.last) for r in snapshot.ranges] == [
        (isc_lab.layout.first, isc_lab.layout.last)
    ]
    hostnames = {x.mac: x.hostname for x in snapshot.leases}
    assert all(hostnames[vm.mac] == vm.name for vm in vms)


def test_a_released_lease_is_no_longer_current(small_isc_lab: IscLab) -> None:
    """After an OMAPI release dhcpd appends a free block (with a set variable): not active."""
    gone, alive = small_isc_lab.boot(2)
    small_isc_lab.destroy(gone)
    backend = OmapiReleaseBackend("lab", small_isc_lab.omapi_config())
    try:
        lease = next(x for x in _read(small_isc_lab).leases if x.mac == gone.mac)
        backend.release(lease)
    finally:
        backend.close()
    text = small_isc_lab.leases_path.read_text()
    assert text.count(f"lease {gone.ip} {{") >= 2  # the journal holds the superseded block
    snapshot = _read(small_isc_lab)
    assert _current(snapshot) == {alive.mac: alive.ip}
    released = next(x for x in snapshot.leases if x.ip == gone.ip)
    assert released.state is BindingState.FREE


def test_fixed_hosts_from_dhcpd_conf() -> None:
    """A host block with fixed-address in the lab's dhcpd.conf (next to OMAPI's key) is read."""
    host = FixedHost("lb1", "02:00:00:00:01:99", IPv4Address("198.18.1.199"))
    lab = IscLab.start(pool_size=2, hosts=[host])
    try:
        fixed = _read(lab).fixed
    finally:
        lab.close()
    assert [(f.name, f.mac, f.ip) for f in fixed] == [(host.name, host.mac, host.ip)]
