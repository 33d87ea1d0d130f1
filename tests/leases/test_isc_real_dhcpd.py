"""The parser against what a real dhcpd writes: dhcpd and dhclient in network namespaces."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import isc_dhcp_leases
import pytest

from lab.isc import run_dhcpd
from lab.launch import Daemon
from lab.netns import Namespace, add_address, macvlan, new_tag, random_mac, veth
from leasewatch.config import ServerConfig
from leasewatch.leases.isc import IscLeaseSource
from leasewatch.model import BindingState, ServerSnapshot, normalize_mac

CONF = """authoritative;
ddns-update-style none;
ping-check false;
# write every renewal to the journal (by default dhcpd skips young leases: 25 %)
dhcp-cache-threshold 0;
default-lease-time 600;
max-lease-time 600;
subnet 198.18.40.0 netmask 255.255.255.0 {
  range 198.18.40.10 198.18.40.20;
}
"""


@dataclass
class Lab:
    tmp: Path
    client_ns: Namespace
    clients: list[str]  # interfaces in client_ns, each with its own MAC

    @property
    def leases(self) -> Path:
        return self.tmp / "dhcpd.leases"

    def dhclient(self, iface: str, *extra: str) -> None:
        """One DHCP exchange from ``iface`` (never configures it: -sf /bin/true)."""
        self.client_ns.run(
            "timeout", "25", "dhclient", "-4", "-1", "-sf", "/bin/true",
            "-lf", str(self.tmp / f"{iface}.leases"), "-pf", str(self.tmp / f"{iface}.pid"),
            *extra, iface,
        )  # fmt: skip

    def mac(self, iface: str) -> str:
        text = self.client_ns.ip("-o", "link", "show", iface)
        return text.split("link/ether ")[1].split()[0]


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """A dhcpd on a veth in one namespace; two clients (veth + macvlan) in another."""
    tag = new_tag()
    created: list[Namespace] = []
    try:
        server = Namespace.create(f"lw-{tag}-is")
        created.append(server)
        client = Namespace.create(f"lw-{tag}-ic")
        created.append(client)
        veth(server, f"lw{tag}s", client, f"lw{tag}c")
        add_address(server, f"lw{tag}s", "198.18.40.1/24")
        macvlan(client, f"lw{tag}m", f"lw{tag}c", random_mac())
        (tmp_path / "dhcpd.conf").write_text(CONF)
        (tmp_path / "dhcpd.leases").write_text("")
        with _dhcpd(server, f"lw{tag}s", tmp_path):
            yield Lab(tmp_path, client, [f"lw{tag}c", f"lw{tag}m"])
    finally:
        for ns in reversed(created):
            ns.delete()  # kills whatever is left inside (a dhclient that hung)


def _dhcpd(ns: Namespace, iface: str, tmp: Path) -> Daemon:
    """The real dhcpd (no OMAPI) on ``iface``, ready once it serves."""
    return run_dhcpd(
        "dhcpd",
        ns,
        iface,
        conf=tmp / "dhcpd.conf",
        leases=tmp / "dhcpd.leases",
        log=tmp / "dhcpd.log",
        omapi=False,
    )


@pytest.mark.lab
def test_real_dhcpd_journal(lab: Lab) -> None:
    """Two clients and a renewal: the journal dhcpd wrote reads as two active leases."""
    first, second = lab.clients
    lab.dhclient(first)
    lab.dhclient(second)
    lab.dhclient(first)  # asks again: dhcpd appends a superseding block for the same address
    time.sleep(0.5)
    text = lab.leases.read_text()
    assert text.count("lease 198.18.40.") >= 3, text

    src = IscLeaseSource(
        ServerConfig("real", "isc", leases=lab.leases, dhcpd_conf=lab.tmp / "dhcpd.conf")
    )
    snap = src.read()
    assert snap.complete and snap.warnings == ()
    assert len(snap.leases) == 2
    by_mac = {lease.mac: lease for lease in snap.leases}
    for iface in (first, second):
        lease = by_mac[normalize_mac(lab.mac(iface))]
        assert lease.state is BindingState.ACTIVE and lease.hostname == "vm"
        assert lease.ends is not None and lease.starts is not None and lease.ends > lease.starts
    assert [str(r.first) for r in snap.ranges] == ["198.18.40.10"]

    # and the oracle agrees on every address
    oracle = {}
    for block in isc_dhcp_leases.IscDhcpLeases(str(lab.leases)).get(include_backups=True):
        oracle[block.ip] = (block.binding_state, normalize_mac(block.ethernet or ""))
    assert {str(x.ip): (x.state.value, x.mac) for x in snap.leases} == oracle


JOURNAL = """authoring-byte-order little-endian;

lease 198.18.41.11 {
  starts 3 2025/01/01 08:00:00;
  binding state active;
  hardware ethernet 52:54:00:00:41:11;
}
lease 198.18.41.12 {
  starts 3 2025/01/01 08:00:00;
  ends 2 2030/01/01 08:00:00;
  binding state active;
  hardware ethernet 52:54:zz:00:41:12;
}
lease 198.18.41.13 {
  starts 3 2025/01/01 08:00:00;
  ends 2 2030/01/01 08:00:00;
  hardware ethernet 52:54:00:00:41:13;
}
lease 198.18.41.14 {
  starts 3 2025/01/01 08:00:00;
  ends 2 2030/01/01 08:00:00;
  binding state active;
  hardware ethernet 52:54:00:00:41:14;
}
"""


@pytest.mark.lab
def test_real_dhcpd_reads_odd_blocks_as_leasewatch_does(tmp_path: Path) -> None:
    """dhcpd reads a journal with a block with no ``ends``, one with a bad MAC and one with
    no ``binding state``, and rewrites it at start-up: leasewatch reads the journal as
    dhcpd does (the same states and MACs before and after dhcpd's rewrite)."""
    tag = new_tag()
    ns = Namespace.create(f"lw-{tag}-odd")
    try:
        ns.ip("link", "add", f"lw{tag}o", "type", "veth", "peer", "name", f"lw{tag}p")
        ns.ip("link", "set", f"lw{tag}p", "up")
        ns.ip("link", "set", f"lw{tag}o", "up")
        add_address(ns, f"lw{tag}o", "198.18.41.1/24")
        conf = tmp_path / "dhcpd.conf"
        conf.write_text(CONF.replace("198.18.40.", "198.18.41."))
        leases = tmp_path / "dhcpd.leases"
        leases.write_text(JOURNAL)
        config = ServerConfig("real", "isc", leases=leases, dhcpd_conf=conf)
        before = IscLeaseSource(config).read()
        log = tmp_path / "dhcpd.log"
        _dhcpd(ns, f"lw{tag}o", tmp_path).stop()
    finally:
        ns.delete()
    written = leases.read_text()
    assert "Wrote 4 leases to leases file." in log.read_text(), log.read_text()
    after = IscLeaseSource(config).read()

    def seen(snap: ServerSnapshot) -> dict[str, tuple[BindingState, str | None, object]]:
        return {str(x.ip): (x.state, x.mac, x.ends) for x in snap.leases}

    # dhcpd kept the block with no ends active, still with no ends (leasewatch: never ends)
    assert "lease 198.18.41.11 {\n  starts 3 2025/01/01 08:00:00;\n  binding state active;" in (
        written
    )
    assert seen(before)["198.18.41.11"] == (BindingState.ACTIVE, "52:54:00:00:41:11", None)
    # the bad MAC: dhcpd keeps the lease with an empty hardware address; leasewatch with none
    assert "hardware ethernet ;" in written
    assert seen(before)["198.18.41.12"][1] is None and len(before.read_errors) == 1
    # no binding state, ends in the future: dhcpd makes it active, so does leasewatch
    assert seen(before)["198.18.41.13"][0] is BindingState.ACTIVE
    assert seen(after) == {**seen(before), "198.18.41.13": seen(after)["198.18.41.13"]}
    assert seen(after)["198.18.41.13"][:2] == (BindingState.ACTIVE, "52:54:00:00:41:13")
    assert after.read_errors == ()
