"""Real dnsmasq 2.90 in a namespace: the files it writes, and dhcp_release confirmed by re-reads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from lab.dnsmasq import RESERVED_MAC, DnsmasqLab
from leasewatch.config import ServerConfig
from leasewatch.errors import LeasesError, ReleaseError
from leasewatch.leases.dnsmasq import (
    DnsmasqLeaseSource,
    parse_lease_file,
    parse_status,
    read_settled,
)
from leasewatch.model import BindingState, Lease, Outcome
from leasewatch.reaper.dnsmasq import DnsmasqReleaseBackend

pytestmark = pytest.mark.lab


@pytest.fixture
def plain_lab() -> Iterator[DnsmasqLab]:
    """dnsmasq with its own lease file, a 4-address pool and a DHCPv6 range."""
    with DnsmasqLab.start(pool_size=4, ipv6=True) as lab:
        yield lab


@pytest.fixture
def libvirt_lab() -> Iterator[DnsmasqLab]:
    """dnsmasq run as libvirt runs it: --leasefile-ro and libvirt's leases helper."""
    with DnsmasqLab.start(pool_size=4, flavour="libvirt", ipv6=True) as lab:
        yield lab


def config_of(lab: DnsmasqLab, **changes: object) -> ServerConfig:
    """leasewatch's server config for the lab (release in its namespace, 2 s to confirm)."""
    if lab.flavour == "libvirtd":
        config = ServerConfig(
            name="dm",
            kind="dnsmasq",
            libvirt_network=lab.network_name,
            uri=lab.uri,
            netns=lab.netns,
            timeout=2.0,
        )
        return replace(config, **changes)  # type: ignore[arg-type]
    libvirt = lab.flavour == "libvirt"
    config = ServerConfig(
        name="dm",
        kind="dnsmasq",
        leases=None if libvirt else lab.leases_path,
        status=lab.status_path if libvirt else None,
        dnsmasq_conf=lab.conf_path,
        interface=lab.interface,
        netns=lab.netns,
        timeout=2.0,
    )
    return replace(config, **changes)  # type: ignore[arg-type]


def now() -> datetime:
    return datetime.now(UTC)


@pytest.mark.parametrize("flavour", ["plain", "libvirt"])
def test_files_written_by_real_dnsmasq_parse_v4_and_v6(flavour: str) -> None:
    """The lease file (v4 lines, duid, v6 line) or libvirt's status, as dnsmasq wrote them."""
    with DnsmasqLab.start(pool_size=4, flavour=flavour, ipv6=True) as lab:
        vms = lab.boot(3)
        v6 = lab.start_v6_client()
        lab.wait_recorded(vm.ip for vm in vms)
        source = DnsmasqLeaseSource(config_of(lab))
        snap = source.read()
        found = {(str(x.ip), x.mac) for x in snap.leases if x.is_active(now())}
        v4 = {(ip, mac) for ip, mac in found if ":" not in ip}
        assert v4 == {(str(vm.ip), vm.mac) for vm in vms}
        assert [ip for ip, _ in found - v4] == [str(v6)]  # the DHCPv6 lease counts too
        assert [r.label for r in snap.ranges] == [
            "198.18.1.202-198.18.1.205",
            "2001:db8:1::100-2001:db8:1::1ff",
        ]
        assert not snap.warnings, snap.warnings
        if flavour == "plain":
            parsed = parse_lease_file(lab.leases_path.read_text(), "f")
            assert parsed.server_duid is not None
        else:
            parsed = parse_status(lab.status_path.read_text(), "f")
            assert parsed.v6[0].mac is not None  # libvirt records the MAC of a v6 client
        assert [v.ip for v in parsed.v6] == [v6]
        assert all(lease.state is BindingState.ACTIVE for lease in parsed.leases)


@pytest.mark.parametrize("flavour", ["plain", "libvirt", "libvirtd"])
def test_release_is_confirmed_by_the_lease_leaving(flavour: str) -> None:
    """dhcp_release in dnsmasq's namespace, then polling: released, and the address is free."""
    with DnsmasqLab.start(pool_size=2, flavour=flavour) as lab:
        gone, alive = lab.boot(2)
        lab.wait_recorded([gone.ip, alive.ip])
        lab.destroy(gone)
        assert gone.ip is not None
        lease = Lease(ip=gone.ip, state=BindingState.ACTIVE, mac=gone.mac, server="dm")
        backend = DnsmasqReleaseBackend(config_of(lab))
        outcome, detail = backend.release(lease)
        assert outcome is Outcome.RELEASED, detail
        assert "gone from dnsmasq's leases after" in detail
        left = DnsmasqLeaseSource(config_of(lab)).read_leases()
        assert [str(x.ip) for x in left.leases] == [str(alive.ip)]
        assert lab.boot(1)[0].ip == gone.ip  # the next VM gets the freed address


def test_release_dnsmasq_ignores_is_failed_never_released(plain_lab: DnsmasqLab) -> None:
    """dhcp_release on an interface dnsmasq does not serve exits 0; the backend fails it."""
    lab = plain_lab
    (vm,) = lab.boot(1)
    lab.destroy(vm)
    assert vm.ip is not None
    lease = Lease(ip=vm.ip, state=BindingState.ACTIVE, mac=vm.mac, server="dm")
    backend = DnsmasqReleaseBackend(config_of(lab, interface="lo", timeout=0.5))
    with pytest.raises(ReleaseError) as caught:
        backend.release(lease)
    detail = str(caught.value)
    assert "dnsmasq still holds the lease after 0.5s: it ignored the DHCPRELEASE" in detail
    still = DnsmasqLeaseSource(config_of(lab)).read_leases()
    assert [(x.ip, x.mac) for x in still.leases] == [(vm.ip, vm.mac)]


def test_release_outside_dnsmasqs_namespace_says_where_to_run(plain_lab: DnsmasqLab) -> None:
    """From the host namespace the interface does not exist: an error naming the fix."""
    lab = plain_lab
    (vm,) = lab.boot(1)
    assert vm.ip is not None
    lease = Lease(ip=vm.ip, state=BindingState.ACTIVE, mac=vm.mac, server="dm")
    backend = DnsmasqReleaseBackend(config_of(lab, netns=None))
    with pytest.raises(ReleaseError) as caught:
        backend.release(lease)
    message = str(caught.value)
    assert "cannot setup interface" in message
    assert "in dnsmasq's network namespace" in message and "netns" in message
    assert "\n" not in message


def test_release_rechecks_the_mac_and_the_address(plain_lab: DnsmasqLab) -> None:
    """Another MAC holds the address: changed; no lease at all: not found; nothing sent."""
    lab = plain_lab
    (vm,) = lab.boot(1)
    assert vm.ip is not None
    backend = DnsmasqReleaseBackend(config_of(lab))
    other = Lease(ip=vm.ip, state=BindingState.ACTIVE, mac="02:00:00:00:00:99", server="dm")
    assert backend.release(other) == (Outcome.CHANGED, f"{vm.ip} now belongs to {vm.mac}")
    unused = next(ip for ip in lab.layout.pool if ip != vm.ip)
    free = Lease(ip=unused, state=BindingState.ACTIVE, mac=vm.mac)
    outcome, _ = backend.release(free)
    assert outcome is Outcome.NOT_FOUND
    assert "DHCPRELEASE" not in lab.log_path.read_text()


def test_libvirt_network_through_a_real_libvirtd() -> None:
    """A libvirt network run by a real libvirtd: leases from virNetworkGetDHCPLeases, the
    pool and the <host> reservation from its XML, the bridge found for releases."""
    with DnsmasqLab.start(pool_size=4, flavour="libvirtd") as lab:
        vms = lab.boot(2)
        lab.wait_recorded(vm.ip for vm in vms)
        source = DnsmasqLeaseSource(config_of(lab))
        snap = source.read()
        assert {(x.ip, x.mac) for x in snap.leases} == {(vm.ip, vm.mac) for vm in vms}
        assert all(x.hostname == vm.name for x, vm in zip(
            sorted(snap.leases, key=lambda x: x.ip), sorted(vms, key=lambda v: v.ip or 0),
            strict=True))  # fmt: skip
        assert [r.label for r in snap.ranges] == ["198.18.1.202-198.18.1.205"]
        assert [(h.name, h.mac, h.ip) for h in snap.fixed] == [
            ("reserved", RESERVED_MAC, lab.layout.gateway + 2)
        ]
        assert source.network is not None and source.network.bridge == lab.interface
        assert snap.warnings == ()


def test_settled_reads_never_see_dnsmasq_rewriting(plain_lab: DnsmasqLab) -> None:
    """While dnsmasq rewrites its lease file hundreds of times a second, a plain read can
    catch it empty or cut short; read_settled never does (counts printed for the record)."""
    lab = plain_lab
    vms = lab.boot(4)
    lab.wait_recorded(vm.ip for vm in vms)
    expected = sorted(str(vm.ip) for vm in vms)
    before = lab.log_path.read_text().count("DHCPACK")
    stop = threading.Event()
    storm = lab.rewrite_storm(vms, stop)
    raw = torn = settled = unsettled = 0
    try:
        for _ in range(5000):
            raw += 1
            if _addresses(lab.leases_path.read_bytes()) != expected:
                torn += 1
        for _ in range(100):
            try:
                got = read_settled(lab.leases_path, attempts=20)
            except LeasesError:
                unsettled += 1  # "try again" is allowed; a torn file taken for truth is not
                continue
            settled += 1
            assert _addresses(got) == expected
    finally:
        stop.set()
        storm.join()
    rewrites = lab.log_path.read_text().count("DHCPACK") - before
    print(
        f"{rewrites} rewrites; {raw} plain reads, {torn} torn; "
        f"{settled} settled reads, 0 torn, {unsettled} gave up"
    )
    assert rewrites > 100 and settled > 0


def _addresses(data: bytes) -> list[str]:
    """The addresses of the whole lines (a line cut short counts only if it has its address)."""
    lines = (line.split() for line in data.decode(errors="replace").splitlines())
    return sorted(fields[2] for fields in lines if len(fields) >= 3 and fields[0] != "duid")


def test_release_over_dbus_delete_dhcp_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    """dnsmasq --enable-dbus on the lab's own bus: DeleteDhcpLease, confirmed by a re-read;
    no interface or namespace needed."""
    with DnsmasqLab.start(pool_size=2, dbus=True) as lab:
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", lab.dbus_address)
        gone, alive = lab.boot(2)
        lab.wait_recorded([gone.ip, alive.ip])
        lab.destroy(gone)
        assert gone.ip is not None
        config = config_of(lab, dbus=lab.dbus_name, interface=None, netns=None)
        lease = Lease(ip=gone.ip, state=BindingState.ACTIVE, mac=gone.mac, server="dm")
        outcome, detail = DnsmasqReleaseBackend(config).release(lease)
        assert outcome is Outcome.RELEASED, detail
        assert detail.startswith(f"DeleteDhcpLease {gone.ip} over D-Bus")
        left = DnsmasqLeaseSource(config).read_leases()
        assert [x.ip for x in left.leases] == [alive.ip]
        assert lab.boot(1)[0].ip == gone.ip


def test_dbus_without_dnsmasq_on_the_bus_is_an_error(
    plain_lab: DnsmasqLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No dnsmasq on the bus under that name (no bus at all here): one line saying so."""
    (vm,) = plain_lab.boot(1)
    assert vm.ip is not None
    bus = plain_lab.workdir / "nobus"
    config = config_of(plain_lab, dbus="uk.org.thekelleys.dnsmasq.absent", interface=None)
    lease = Lease(ip=vm.ip, state=BindingState.ACTIVE, mac=vm.mac, server="dm")
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={bus}")
    with pytest.raises(ReleaseError, match="is dnsmasq running with --enable-dbus=") as caught:
        DnsmasqReleaseBackend(config).release(lease)
    assert "\n" not in str(caught.value)
