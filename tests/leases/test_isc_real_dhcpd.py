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

from leasewatch.config import ServerConfig
from leasewatch.leases.isc import IscLeaseSource
from leasewatch.model import BindingState, normalize_mac

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
