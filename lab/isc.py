"""A real ISC dhcpd with OMAPI in its own namespace, and a hypervisor of dhclient VMs.

``IscLab.start(pool_size=21)`` builds the seed's network inside 198.18.0.0/15: subnet
198.18.1.192/27, gateway .193, statics .194-.201 (dhcpd's own address is .197, as in the
seed), pool .202-.222, three-day leases, OMAPI on port 7911 with a random HMAC-MD5 key.
dhcpd runs in the foreground (``-d``) with its own -cf/-lf/-pf in a temp dir and listens
only on the veth end in its namespace.

OMAPI listens inside the server namespace; ``lab.omapi_port`` is a host loopback port
forwarded into it (``LoopbackForwarder``), so leasewatch connects to
``127.0.0.1:<lab.omapi_port>`` from the host namespace exactly as it would to a real server.

``IscLab.start6()`` runs ``dhcpd -6`` instead (``Layout6``: subnet6 2001:db8:1::/64 with a
``range6 start end`` for addresses, a ``range6 prefix/len``, a ``range6 ... temporary`` and
a ``prefix6`` pool for prefix delegation), with its own dhcpd6.conf and dhcpd6.leases and no
OMAPI: dhcpd's OMAPI knows only DHCPv4 leases. Its VMs run ``dhclient -6`` (``boot6``).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path
from typing import Any

from lab.base import ServerLab
from lab.launch import Daemon, launch, log_line, tail, tcp_port
from lab.netns import (
    LabError,
    LoopbackForwarder,
    Namespace,
    add_address,
)
from lab.toml import common_sections
from lab.toml import toml_string as _toml
from lab.vm import Vm
from leasewatch.config import OmapiConfig, Secret

DHCPD = "/usr/sbin/dhcpd"
OMAPI_PORT = 7911
KEY_NAME = "omapi_key"


@dataclass(frozen=True)
class Layout:
    """The seed's address plan: network, gateway, 8 statics, then the dynamic pool."""

    subnet: IPv4Network
    pool_size: int

    @classmethod
    def seed(cls, pool_size: int = 21, base: str = "198.18.1.192") -> Layout:
        """The smallest subnet at ``base`` holding network+gateway+8 statics+pool+broadcast."""
        need = 10 + pool_size + 1
        prefix = 32
        while 2 ** (32 - prefix) < need:
            prefix -= 1
        subnet = IPv4Network(f"{base}/{prefix}", strict=False)
        if not subnet.subnet_of(IPv4Network("198.18.0.0/15")):
            raise LabError(f"{subnet} is outside 198.18.0.0/15")
        return cls(subnet=subnet, pool_size=pool_size)

    @property
    def gateway(self) -> IPv4Address:
        return self.subnet.network_address + 1

    @property
    def server_ip(self) -> IPv4Address:
        return self.subnet.network_address + 5  # .197 in the seed

    @property
    def first(self) -> IPv4Address:
        return self.subnet.network_address + 10  # .202 in the seed

    @property
    def last(self) -> IPv4Address:
        return self.first + (self.pool_size - 1)

    @property
    def pool(self) -> list[IPv4Address]:
        return [self.first + i for i in range(self.pool_size)]


_V6_SUBNET = IPv6Network("2001:db8:1::/64")
_PD_BASE = IPv6Address("2001:db8:100::")


@dataclass(frozen=True)
class Layout6:
    """The DHCPv6 plan: one /64 on the link with three address ranges, and a PD pool.

    ``na_size`` addresses from ``<subnet>::100`` (``range6 start end``); a ``range6
    <subnet>::1:0/120`` (256 addresses); a ``range6 <subnet>::2:0/120 temporary`` for IA_TA;
    ``pd_count`` prefixes of length ``pd_len`` from ``pd_base`` (``prefix6 start end /len``).
    """

    subnet: IPv6Network = _V6_SUBNET
    na_size: int = 16
    pd_base: IPv6Address = _PD_BASE
    pd_len: int = 56
    pd_count: int = 4

    def __post_init__(self) -> None:
        lab = IPv6Network("2001:db8::/32")
        if not (self.subnet.subnet_of(lab) and self.pd_base in lab and self.pd_last in lab):
            raise LabError(f"{self.subnet} or the PD pool is outside 2001:db8::/32")

    @property
    def server_ip(self) -> IPv6Address:
        return self.subnet.network_address + 1

    @property
    def first(self) -> IPv6Address:
        return self.subnet.network_address + 0x100

    @property
    def last(self) -> IPv6Address:
        return self.first + (self.na_size - 1)

    @property
    def prefix_range(self) -> IPv6Network:
        return IPv6Network(f"{self.subnet.network_address + 0x10000}/120")

    @property
    def temporary_range(self) -> IPv6Network:
        return IPv6Network(f"{self.subnet.network_address + 0x20000}/120")

    @property
    def pd_last(self) -> IPv6Address:
        return self.pd_base + ((self.pd_count - 1) << (128 - self.pd_len))


def dhcpd6_conf(layout: Layout6) -> str:
    """The dhcpd6.conf text for ``layout`` (dhcpd.conf(5), the DHCPv6 statements)."""
    return (
        "# Written by leasewatch's lab (lab/isc.py); dhcpd.conf(5), DHCPv6.\n"
        "authoritative;\n"
        "ddns-update-style none;\n"
        "default-lease-time 259200;\n"
        "max-lease-time 518400;\n"
        "preferred-lifetime 172800;\n"
        f"subnet6 {layout.subnet} {{\n"
        f"  range6 {layout.first} {layout.last};\n"
        f"  range6 {layout.prefix_range};\n"
        f"  range6 {layout.temporary_range} temporary;\n"
        f"  prefix6 {layout.pd_base} {layout.pd_last} /{layout.pd_len};\n"
        "}\n"
    )


def dhcpd_pools(conf: Path, leases: Path, version: int = 6) -> list[dict[str, Any]]:
    """``dhcpd-pools --ip-version=N -f j``'s ranges: ``range`` ("first - last"), ``used``..."""
    out = subprocess.run(
        ["dhcpd-pools", f"--ip-version={version}", "-c", str(conf), "-l", str(leases), "-f", "j"],
        cwd=conf.parent,  # a relative include is opened against the working directory
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    subnets: list[dict[str, Any]] = json.loads(out)["subnets"]
    return subnets


# where dhcpd -t says its first error is: "<file> line <n>: <what>"
_DHCPD_ERROR = re.compile(r"^(\S+) line (\d+): ", re.MULTILINE)


def dhcpd_check(
    conf: Path, leases: Path, family: str = "-4"
) -> tuple[bool, tuple[str, int] | None]:
    """``dhcpd -t``'s verdict on ``conf`` (``leases``: a lease file, made empty if missing),
    and the file name and line of its first error when it names one."""
    leases.touch()
    proc = subprocess.run(
        [DHCPD, "-t", family, "-cf", str(conf), "-lf", str(leases)],
        cwd=conf.parent,  # dhcpd opens a relative include against its working directory
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    m = _DHCPD_ERROR.search(proc.stderr)
    return proc.returncode == 0, (Path(m[1]).name, int(m[2])) if m else None


@dataclass(frozen=True)
class FixedHost:
    """A ``host`` block with a ``fixed-address`` in dhcpd.conf."""

    name: str
    mac: str
    ip: IPv4Address


def dhcpd_conf(layout: Layout, key: str, hosts: Sequence[FixedHost] = ()) -> str:
    """The dhcpd.conf text for ``layout`` (the seed's, plus OMAPI)."""
    net = layout.subnet
    host_blocks = "".join(
        f"host {h.name} {{ hardware ethernet {h.mac}; fixed-address {h.ip}; }}\n" for h in hosts
    )
    return (
        "# Written by leasewatch's lab (lab/isc.py); dhcpd.conf(5).\n"
        "authoritative;\n"
        "ddns-update-style none;\n"
        "default-lease-time 259200;\n"
        "max-lease-time 518400;\n"
        # No ICMP probe before an offer: our VMs never configure their address (dhclient
        # -sf /bin/true), so the probe would only add its one-second timeout per offer.
        "ping-check false;\n"
        f"omapi-port {OMAPI_PORT};\n"
        f'key {KEY_NAME} {{ algorithm hmac-md5; secret "{key}"; }}\n'
        f"omapi-key {KEY_NAME};\n"
        f"subnet {net.network_address} netmask {net.netmask} {{\n"
        f"  range {layout.first} {layout.last};\n"
        f"  option subnet-mask {net.netmask};\n"
        f"  option broadcast-address {net.broadcast_address};\n"
        f"  option routers {layout.gateway};\n"
        "}\n" + host_blocks
    )


def run_dhcpd(
    name: str,
    ns: Namespace,
    iface: str,
    *,
    conf: Path,
    leases: Path,
    log: Path,
    family: str = "-4",
    omapi: bool = True,
    timeout: float = 15.0,
) -> Daemon:
    """dhcpd in the foreground (``-d``: its log on stderr, ``log``) on ``iface`` only, its
    pid file beside ``conf``; ready once it logs that it serves and (``omapi``) its OMAPI
    port accepts inside ``ns``."""
    pid_file = conf.with_suffix(".pid")
    ready = [log_line("Server starting service.", log)]
    if omapi:
        ready.append(tcp_port(OMAPI_PORT, ns))
    return launch(
        name,
        [DHCPD, family, "-d", "-cf", str(conf), "-lf", str(leases), "-pf", str(pid_file), iface],
        ns=ns,
        log=log,
        ready=ready,
        timeout=timeout,
        files=[pid_file],
    )


class IscLab(ServerLab):
    """dhcpd + OMAPI forwarder + hypervisor; ``close()`` (or ``with``) removes it all."""

    def __init__(self, layout: Layout, key: str, layout6: Layout6 | None = None) -> None:
        super().__init__()
        self.layout = layout
        self.layout6 = layout6  # set: a dhcpd -6 lab
        self.key = key
        self.key_name = KEY_NAME
        self.forwarder: LoopbackForwarder | None = None
        self.dhcpd: Daemon | None = None

    @property
    def conf_path(self) -> Path:
        return self.workdir / ("dhcpd.conf" if self.layout6 is None else "dhcpd6.conf")

    @property
    def leases_path(self) -> Path:
        return self.workdir / ("dhcpd.leases" if self.layout6 is None else "dhcpd6.leases")

    @property
    def log_path(self) -> Path:
        return self.workdir / "dhcpd.log"

    @property
    def omapi_host(self) -> str:
        return "127.0.0.1"

    @property
    def omapi_port(self) -> int:
        assert self.forwarder is not None
        return self.forwarder.port

    @classmethod
    def start(
        cls,
        pool_size: int = 21,
        hosts: Sequence[FixedHost] = (),
        base: str = "198.18.1.192",
    ) -> IscLab:
        """Build the namespaces, start dhcpd and the OMAPI forwarder; wait until ready."""
        key = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
        lab = cls(Layout.seed(pool_size, base), key)
        return lab._built(lambda: lab._build(hosts))

    @classmethod
    def start6(cls, layout6: Layout6 | None = None) -> IscLab:
        """The same lab with ``dhcpd -6`` serving ``layout6`` (no OMAPI); VMs: ``boot6``."""
        lab = cls(Layout.seed(), "", layout6 or Layout6())
        return lab._built(lab._build6)

    def _build6(self) -> None:
        assert self.layout6 is not None
        hv = self._network()
        cidr = f"{self.layout6.server_ip}/{self.layout6.subnet.prefixlen}"
        # nodad: dhcpd -6 binds to the address at once, before a DAD would have finished
        hv.server_ns.ip("addr", "add", cidr, "dev", hv.server_iface, "nodad")
        self.conf_path.write_text(dhcpd6_conf(self.layout6), encoding="utf-8")
        self.leases_path.touch()
        self._run("-6")

    def _build(self, hosts: Sequence[FixedHost]) -> None:
        hv = self._network()
        prefix = self.layout.subnet.prefixlen
        add_address(hv.server_ns, hv.server_iface, f"{self.layout.server_ip}/{prefix}")
        self.conf_path.write_text(dhcpd_conf(self.layout, self.key, hosts), encoding="utf-8")
        self.conf_path.chmod(0o600)  # it holds the OMAPI key
        self.leases_path.touch()
        self._run("-4")
        self.forwarder = LoopbackForwarder(hv.server_ns, OMAPI_PORT)

    def _run(self, family: str) -> None:
        assert self.server_ns is not None and self.hv is not None
        self.dhcpd = run_dhcpd(
            "dhcpd",
            self.server_ns,
            self.hv.server_iface,
            conf=self.conf_path,
            leases=self.leases_path,
            log=self.log_path,
            family=family,
            omapi=family == "-4",  # dhcpd's OMAPI knows only DHCPv4 leases
        )

    def log_tail(self, lines: int = 20) -> str:
        return tail(self.log_path, lines)

    # ------------------------------------------------------------------ VMs

    def boot6(self, n: int = 1, dhcp6: str = "na", timeout: float = 20.0) -> list[Vm]:
        """``n`` VMs running ``dhclient -6`` for an address ("na"), a temporary address
        ("ta") or a prefix ("pd")."""
        return self.hypervisor.boot6(n, dhcp6, timeout)

    def omapi_config(self, timeout: float = 5.0) -> OmapiConfig:
        """leasewatch's OMAPI settings for this lab's dhcpd (through the forwarder)."""
        return OmapiConfig(
            host=self.omapi_host,
            port=self.omapi_port,
            key_name=self.key_name,
            key=Secret(self.key),
            timeout=timeout,
        )

    def leasewatch_toml(
        self,
        state: Path,
        inventory: Sequence[str] | None = None,
        reaper: str = 'grace = "0s"',
        server_name: str = "lab-dhcpd",
    ) -> str:
        """A leasewatch config for this lab: the dhcpd with OMAPI, the hypervisor's inventory.

        The OMAPI key goes to a file of its own (``key_file``), so the config holds no secret.
        A dhcpd -6 lab has no OMAPI: its server has none.
        """
        argv = list(inventory) if inventory is not None else self.inventory_argv()
        server = [
            "[[servers]]",
            f"name = {_toml(server_name)}",
            'kind = "isc"',
            f"leases = {_toml(str(self.leases_path))}",
            f"dhcpd_conf = {_toml(str(self.conf_path))}",
        ]
        if self.layout6 is None:
            key_file = self.workdir / "omapi.key"
            key_file.write_text(self.key + "\n", encoding="utf-8")
            key_file.chmod(0o600)
            server.append(
                f"omapi = {{ host = {_toml(self.omapi_host)}, port = {self.omapi_port}, "
                f"key_name = {_toml(self.key_name)}, key_file = {_toml(str(key_file))} }}"
            )
        return "\n".join([*server, "", *common_sections(argv, reaper, state)])

    def omapi_reachable(self) -> bool:
        try:
            socket.create_connection((self.omapi_host, self.omapi_port), timeout=2).close()
        except OSError:
            return False
        return True

    # ------------------------------------------------------------------ teardown

    def _stop_servers(self) -> None:
        """Stop the forwarder and dhcpd (then the VMs and namespaces go: ``ServerLab``)."""
        if self.forwarder is not None:
            self.forwarder.close()
        if self.dhcpd is not None:
            self.dhcpd.stop()
