"""The parser against what a real dhcpd writes: dhcpd and dhclient in network namespaces."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import isc_dhcp_leases
import pytest

from lab.netns import Namespace, new_tag, stop_process
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


def sh(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=30).stdout


@dataclass
class Lab:
    tmp: Path
    server_ns: str
    client_ns: str
    clients: list[str]  # interfaces in client_ns, each with its own MAC

    @property
    def leases(self) -> Path:
        return self.tmp / "dhcpd.leases"

    def dhclient(self, iface: str, *extra: str) -> None:
        """One DHCP exchange from ``iface`` (never configures it: -sf /bin/true)."""
        sh(
            "ip", "netns", "exec", self.client_ns, "timeout", "25", "dhclient", "-4", "-1",
            "-sf", "/bin/true", "-lf", str(self.tmp / f"{iface}.leases"),
            "-pf", str(self.tmp / f"{iface}.pid"), *extra, iface,
        )  # fmt: skip

    def mac(self, iface: str) -> str:
        text = sh("ip", "-n", self.client_ns, "-o", "link", "show", iface)
        return text.split("link/ether ")[1].split()[0]


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """A dhcpd on a veth in one namespace; two clients (veth + macvlan) in another."""
    tag = f"{os.getpid() % 4096:03x}{secrets.token_hex(2)}"
    server_ns, client_ns = f"lwis{tag}", f"lwic{tag}"
    dhcpd: subprocess.Popen[bytes] | None = None
    created: list[str] = []
    try:
        for ns in (server_ns, client_ns):
            sh("ip", "netns", "add", ns)
            created.append(ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", server_ns, "link", "add", f"lws{tag}", "type", "veth", "peer", "name",
           f"lwc{tag}", "netns", client_ns)  # fmt: skip
        sh("ip", "-n", server_ns, "addr", "add", "198.18.40.1/24", "dev", f"lws{tag}")
        sh("ip", "-n", server_ns, "link", "set", f"lws{tag}", "up")
        sh("ip", "-n", client_ns, "link", "set", f"lwc{tag}", "up")
        sh("ip", "-n", client_ns, "link", "add", f"lwm{tag}", "link", f"lwc{tag}", "type",
           "macvlan", "mode", "bridge")  # fmt: skip
        sh("ip", "-n", client_ns, "link", "set", f"lwm{tag}", "up")
        (tmp_path / "dhcpd.conf").write_text(CONF)
        (tmp_path / "dhcpd.leases").write_text("")
        dhcpd = subprocess.Popen(
            ["ip", "netns", "exec", server_ns, "dhcpd", "-4", "-f", "-q",
             "-cf", str(tmp_path / "dhcpd.conf"), "-lf", str(tmp_path / "dhcpd.leases"),
             "-pf", str(tmp_path / "dhcpd.pid"), f"lws{tag}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.5)
        assert dhcpd.poll() is None, "dhcpd exited at start-up"
        yield Lab(tmp_path, server_ns, client_ns, [f"lwc{tag}", f"lwm{tag}"])
    finally:
        if dhcpd is not None:
            dhcpd.terminate()
            try:
                dhcpd.wait(timeout=10)
            except subprocess.TimeoutExpired:
                dhcpd.kill()
                dhcpd.wait()
        for ns in reversed(created):
            # kill whatever is left inside (a dhclient that hung), then the namespace
            pids = subprocess.run(
                ["ip", "netns", "pids", ns], check=False, capture_output=True, text=True
            )
            for pid in pids.stdout.split():  # only processes this test started in its namespace
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "delete", ns], check=False)


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
    ns = Namespace.create(f"lw-{new_tag()}-odd")
    try:
        ns.ip("link", "add", "lwo0", "type", "veth", "peer", "name", "lwo1")
        ns.ip("addr", "add", "198.18.41.1/24", "dev", "lwo0")
        ns.ip("link", "set", "lwo0", "up")
        ns.ip("link", "set", "lwo1", "up")
        conf = tmp_path / "dhcpd.conf"
        conf.write_text(CONF.replace("198.18.40.", "198.18.41."))
        leases = tmp_path / "dhcpd.leases"
        leases.write_text(JOURNAL)
        config = ServerConfig("real", "isc", leases=leases, dhcpd_conf=conf)
        before = IscLeaseSource(config).read()
        log = tmp_path / "dhcpd.log"
        dhcpd = ns.popen(
            ["dhcpd", "-4", "-f", "-d", "-cf", str(conf), "-lf", str(leases),
             "-pf", str(tmp_path / "dhcpd.pid"), "lwo0"],
            log=log,
        )  # fmt: skip
        for _ in range(150):
            if "Server starting service." in log.read_text(errors="replace"):
                break
            assert dhcpd.poll() is None, log.read_text(errors="replace")
            time.sleep(0.1)
        stop_process(dhcpd)
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
