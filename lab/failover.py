"""Two real dhcpd in a failover pair, each with its own OMAPI key and journal, and dhclient VMs.

``FailoverLab.start(pool_size=21)`` builds the seed's network (lab/isc.py's ``Layout``):
the primary ``dhcp1`` (198.18.1.197) in namespace ``lw-<tag>-srv`` joined to the
hypervisor by a veth pair, the secondary ``dhcp2`` (198.18.1.198) in ``lw-<tag>-srv2`` on a
macvlan of the hypervisor's uplink moved into that namespace (bridge mode: the VMs'
broadcasts reach both servers, and the servers reach each other). Each dhcpd runs in the
foreground with its own -cf/-lf/-pf, OMAPI on 7911 inside its namespace (forwarded to a
loopback port of the host), and the pool names ``failover peer "lw"`` (a short ``mclt`` and
``load balance max seconds`` so a fresh pair reaches ``normal`` within a minute).
``wait_normal()`` waits until both servers say so over OMAPI (``failover-state``).
"""

from __future__ import annotations

import base64
import secrets
import struct
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from lab.base import ServerLab
from lab.isc import KEY_NAME, OMAPI_PORT, Layout, run_dhcpd
from lab.launch import Daemon, tail
from lab.netns import (
    LabError,
    LoopbackForwarder,
    Namespace,
    add_address,
    random_mac,
)
from lab.toml import common_sections
from lab.toml import toml_string as _toml
from lab.vm import Vm
from leasewatch.config import OmapiConfig, Secret

PEER = "lw"
FAILOVER_PORT = 647
# seconds: a client's first lease is this long (until the partner acknowledges), then the
# renewal at half of it gets the full lease time; a fresh pair is normal within a second
MCLT = 10
NORMAL = 2  # failover-state local-state (enum failover_state, includes/failover.h)


@dataclass
class Member:
    """One dhcpd of the pair."""

    name: str
    role: str  # "primary" | "secondary"
    ip: IPv4Address
    peer_ip: IPv4Address
    dir: Path
    key: str = field(repr=False)
    ns: Namespace | None = None
    iface: str = ""
    daemon: Daemon | None = None
    forwarder: LoopbackForwarder | None = None

    @property
    def conf_path(self) -> Path:
        return self.dir / "dhcpd.conf"

    @property
    def leases_path(self) -> Path:
        return self.dir / "dhcpd.leases"

    @property
    def log_path(self) -> Path:
        return self.dir / "dhcpd.log"

    @property
    def key_file(self) -> Path:
        return self.dir / "omapi.key"

    @property
    def omapi_port(self) -> int:
        assert self.forwarder is not None
        return self.forwarder.port

    @property
    def running(self) -> bool:
        return self.daemon is not None and self.daemon.running

    def omapi_config(self, timeout: float = 5.0) -> OmapiConfig:
        """leasewatch's OMAPI settings for this dhcpd (through the forwarder)."""
        return OmapiConfig("127.0.0.1", self.omapi_port, KEY_NAME, Secret(self.key), timeout)

    def log_tail(self, lines: int = 20) -> str:
        return tail(self.log_path, lines)


def failover_conf(layout: Layout, member: Member, mclt: int = MCLT) -> str:
    """A member's dhcpd.conf: the seed's subnet, its pool in failover peer "lw", OMAPI."""
    net = layout.subnet
    primary = member.role == "primary"
    return (
        "# Written by leasewatch's lab (lab/failover.py); dhcpd.conf(5), FAILOVER.\n"
        "authoritative;\nddns-update-style none;\n"
        "default-lease-time 259200;\nmax-lease-time 518400;\nping-check false;\n"
        f"omapi-port {OMAPI_PORT};\n"
        f'key {KEY_NAME} {{ algorithm hmac-md5; secret "{member.key}"; }}\n'
        f"omapi-key {KEY_NAME};\n"
        f'failover peer "{PEER}" {{\n'
        f"  {member.role};\n"
        f"  address {member.ip};\n  port {FAILOVER_PORT};\n"
        f"  peer address {member.peer_ip};\n  peer port {FAILOVER_PORT};\n"
        "  max-response-delay 10;\n  max-unacked-updates 10;\n"
        "  load balance max seconds 3;\n"
        + (f"  mclt {mclt};\n  split 128;\n" if primary else "")
        + "}\n"
        f"subnet {net.network_address} netmask {net.netmask} {{\n"
        f"  option subnet-mask {net.netmask};\n"
        f"  option routers {layout.gateway};\n"
        "  pool {\n"
        f'    failover peer "{PEER}";\n'
        "    deny dynamic bootp clients;\n"
        f"    range {layout.first} {layout.last};\n"
        "  }\n}\n"
    )


class FailoverLab(ServerLab):
    """dhcp1 (primary) + dhcp2 (secondary) + the hypervisor; ``close()`` removes it all."""

    def __init__(self, layout: Layout, mclt: int) -> None:
        super().__init__()
        workdir = self.workdir
        self.layout = layout
        self.mclt = mclt
        ip1 = layout.server_ip
        ip2 = ip1 + 1
        self.primary = Member("dhcp1", "primary", ip1, ip2, workdir / "dhcp1", _key())
        self.secondary = Member("dhcp2", "secondary", ip2, ip1, workdir / "dhcp2", _key())

    @property
    def members(self) -> tuple[Member, Member]:
        return self.primary, self.secondary

    @classmethod
    def start(cls, pool_size: int = 21, mclt: int = MCLT) -> FailoverLab:
        """Build the namespaces, start both dhcpd and their OMAPI forwarders, and wait until
        both say their failover state is normal."""
        lab = cls(Layout.seed(pool_size), mclt)
        return lab._built(lab._build)

    def _build(self) -> None:
        prefix = self.layout.subnet.prefixlen
        one, two = self.members
        hv = self._network()
        one.ns, one.iface = hv.server_ns, hv.server_iface
        two.ns = Namespace.create(f"lw-{self.tag}-srv2")
        two.iface = f"lw{self.tag}p"
        # a macvlan of the VMs' uplink, moved into dhcp2's namespace: on the VMs' segment
        hv.ns.ip("link", "add", two.iface, "link", hv.uplink, "address", random_mac(),
                 "type", "macvlan", "mode", "bridge")  # fmt: skip
        hv.ns.ip("link", "set", two.iface, "netns", two.ns.name)
        two.ns.ip("link", "set", two.iface, "up")
        for member in self.members:
            assert member.ns is not None
            add_address(member.ns, member.iface, f"{member.ip}/{prefix}")
            member.dir.mkdir(parents=True)
            member.conf_path.write_text(failover_conf(self.layout, member, self.mclt))
            member.conf_path.chmod(0o600)  # it holds the OMAPI key
            member.key_file.write_text(member.key + "\n")
            member.key_file.chmod(0o600)
            member.leases_path.touch()
            self.start_member(member)
        self.wait_normal(timeout=4 * self.mclt + 60)

    def start_member(self, member: Member, timeout: float = 15.0) -> None:
        """Start (or restart) one dhcpd and its OMAPI forwarder; wait until it serves."""
        assert member.ns is not None
        member.daemon = run_dhcpd(
            member.name,
            member.ns,
            member.iface,
            conf=member.conf_path,
            leases=member.leases_path,
            log=member.log_path,
            timeout=timeout,
        )
        if member.forwarder is None:
            member.forwarder = LoopbackForwarder(member.ns, OMAPI_PORT)

    def stop_member(self, member: Member) -> None:
        """Stop one dhcpd (SIGTERM, as systemd would); its forwarder stays, refusing."""
        if member.daemon is not None:
            member.daemon.stop()

    def local_state(self, member: Member) -> int | None:
        """The member's own failover state over OMAPI (2 = normal), or None when it does not
        answer."""
        import pypureomapi

        try:
            conn = pypureomapi.Omapi("127.0.0.1", member.omapi_port, KEY_NAME.encode(),
                                     member.key.encode(), timeout=2)  # fmt: skip
        except Exception:
            return None
        try:
            message = pypureomapi.OmapiMessage.open(b"failover-state")
            message.obj.append((b"name", PEER.encode()))
            response: Any = conn.query_server(message)
            raw = dict(response.obj).get(b"local-state")
            return struct.unpack("!I", raw)[0] if raw and len(raw) == 4 else None
        except Exception:
            return None
        finally:
            conn.close()

    def wait_normal(self, timeout: float) -> None:
        """Until both members say their failover state is normal (bounded)."""
        deadline = time.monotonic() + timeout
        states: list[int | None] = []
        while time.monotonic() < deadline:
            states = [self.local_state(m) for m in self.members]
            if states == [NORMAL, NORMAL]:
                return
            time.sleep(0.5)
        logs = "\n".join(f"--- {m.name}\n{m.log_tail()}" for m in self.members)
        raise LabError(f"failover not normal after {timeout}s (states {states}):\n{logs}")

    # ------------------------------------------------------------------ VMs

    def boot(self, n: int = 1, timeout: float = 30.0) -> list[Vm]:
        return self.hypervisor.boot(n, timeout)

    def wait_bound(self, vms: list[Vm], timeout: float = 60.0) -> None:
        """Until both journals show each VM's lease active for more than an hour (past the
        MCLT-long first lease: an orphan made now does not expire by itself in a test)."""
        from leasewatch.config import ServerConfig
        from leasewatch.leases.isc import IscLeaseSource

        sources = [
            IscLeaseSource(
                ServerConfig(m.name, "isc", leases=m.leases_path, dhcpd_conf=m.conf_path)
            )
            for m in self.members
        ]
        deadline = time.monotonic() + timeout
        while True:
            for vm in vms:  # a VM whose first lease ran out may have moved on
                vm.ip = vm.read_ip() or vm.ip
            later = datetime.now(UTC) + timedelta(hours=1)
            snaps = [source.read() for source in sources]
            short = [
                f"{vm.ip} on {snap.server}"
                for vm in vms
                for snap in snaps
                if vm.ip is None
                or (lease := snap.leases.get(int(vm.ip))) is None
                or not lease.is_active(later)
                or lease.mac != vm.mac
            ]
            if not short:
                return
            if time.monotonic() > deadline:
                raise LabError(f"leases not bound for an hour after {timeout}s: {short}")
            time.sleep(0.5)

    def leasewatch_toml(self, state: Path, reaper: str = 'grace = "0s"') -> str:
        """A leasewatch config: both dhcpd with their own OMAPI key, the VMs' inventory."""
        lines = []
        for m in self.members:
            lines += [
                "[[servers]]",
                f"name = {_toml(m.name)}",
                'kind = "isc"',
                f"leases = {_toml(str(m.leases_path))}",
                f"dhcpd_conf = {_toml(str(m.conf_path))}",
                f'omapi = {{ host = "127.0.0.1", port = {m.omapi_port}, '
                f"key_name = {_toml(KEY_NAME)}, key_file = {_toml(str(m.key_file))} }}",
                "",
            ]
        return "\n".join([*lines, *common_sections(self.hypervisor.inventory_argv(), reaper,
                                                    state)])  # fmt: skip

    # ------------------------------------------------------------------ teardown

    def _stop_servers(self) -> None:
        """Stop both dhcpd and the forwarders (then the VMs and namespaces go)."""
        for m in self.members:
            if m.forwarder is not None:
                m.forwarder.close()
            if m.daemon is not None:
                m.daemon.stop()

    def _teardown(self) -> None:
        try:
            super()._teardown()  # the hypervisor and dhcp1's namespace
        finally:
            if self.secondary.ns is not None:
                self.secondary.ns.delete()


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")
