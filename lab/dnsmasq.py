"""A real dnsmasq (Debian dnsmasq-base) in its own namespace, and a hypervisor of dhclient VMs.

``DnsmasqLab.start(pool_size=21)`` builds the seed's network as ``lab.isc`` does (subnet
198.18.1.192/27, dnsmasq at .197, pool .202-.222, three-day leases) and runs dnsmasq in the
foreground with DNS off (``--port=0``), bound to the veth end only (``--bind-interfaces
--interface=``), its own config, lease file and pid file in a temp dir.

``flavour="libvirt"`` runs dnsmasq the way libvirt's network driver does: ``--leasefile-ro
--dhcp-script=/usr/lib/libvirt/libvirt_leaseshelper`` with ``VIR_BRIDGE_NAME`` set. The helper
writes ``/var/lib/libvirt/dnsmasq/<bridge>.status`` and locks ``/run/leaseshelper.pid``,
paths compiled in: dnsmasq runs in a private mount namespace (``unshare -m``) where the lab's
own directories are mounted on /var/lib and /run, so the host's are never touched, and
``lab.status_path`` is the file libvirt's helper itself wrote.

``flavour="libvirtd"`` goes one step further: a real ``libvirtd`` (Debian libvirt-daemon,
its network driver) in the server namespace and a private mount namespace (its /etc/libvirt,
/var/lib, /var/cache, /var/log and /run are the lab's; /etc/passwd and /etc/group gain the
``libvirt-qemu`` user its QEMU driver insists on), a libvirt network in ``<forward
mode='open'/>`` (no firewall rules) on a bridge the VMs' veth joins; libvirtd starts dnsmasq
itself. leasewatch reads it through ``virNetworkGetDHCPLeases`` on ``lab.uri``.

``ipv6=True`` adds a DHCPv6 range (2001:db8:1::/64) so dnsmasq writes v6 lease lines, and
``lab.start_v6_client()`` (or ``lab.hypervisor.boot6``) runs ``dhclient -6`` VMs against it.

leasewatch runs in the host namespace; ``dhcp_release`` must run in dnsmasq's, which the
generated config says with ``netns = "<server namespace>"``.
"""

from __future__ import annotations

import re
import secrets
import socket
import struct
import threading
import time
from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

from lab.base import ServerLab
from lab.isc import Layout
from lab.launch import Daemon, launch, log_line, tail, unix_socket, with_mounts
from lab.libvirtd import run_libvirtd, system_mounts, virsh
from lab.netns import (
    LabError,
    add_address,
    enter_namespace_thread,
)
from lab.toml import common_sections
from lab.toml import toml_string as _toml
from lab.vm import Vm

DNSMASQ = "/usr/sbin/dnsmasq"
LEASESHELPER = "/usr/lib/libvirt/libvirt_leaseshelper"
V6_SUBNET = "2001:db8:1::"
LEASE_TIME = "3d"
FLAVOURS = ("plain", "libvirt", "libvirtd")
SERVING = "DHCP, IP range"  # dnsmasq's log line once it serves a range
RESERVED_MAC = "52:54:00:00:00:07"  # a <host> reservation in the libvirtd flavour's network


def _dhcp_request(mac: str, ip: IPv4Address, hostname: str) -> bytes:
    """A DHCPREQUEST in INIT-REBOOT state (RFC 2131 4.3.2): no server id, the address in
    option 50, the broadcast flag set."""
    header = struct.pack(
        "!BBBBIHHIIII16s64s128s",
        1,  # BOOTREQUEST
        1,  # Ethernet
        6,
        0,
        secrets.randbits(32),
        0,
        0x8000,
        0,
        0,
        0,
        0,
        bytes.fromhex(mac.replace(":", "")),
        b"",
        b"",
    )
    name = hostname.encode()
    options = (
        b"\x63\x82\x53\x63"  # magic cookie
        + bytes([53, 1, 3])  # DHCPREQUEST
        + bytes([50, 4])
        + ip.packed
        + bytes([12, len(name)])
        + name
        + b"\xff"
    )
    return header + options


class DnsmasqLab(ServerLab):
    """dnsmasq + hypervisor; ``close()`` (or ``with``) removes it all."""

    NO_ADDRESS_LOG = "no address available"

    def __init__(self, layout: Layout, flavour: str, *, ipv6: bool, dbus: bool) -> None:
        super().__init__()
        self.layout = layout
        self.flavour = flavour
        self.ipv6 = ipv6
        self.dbus = dbus
        self.dnsmasq: Daemon | None = None
        self.libvirtd: Daemon | None = None
        self._bus: Daemon | None = None

    @property
    def conf_path(self) -> Path:
        return self.workdir / "dnsmasq.conf"

    @property
    def leases_path(self) -> Path:
        """dnsmasq's own lease file (the plain flavour)."""
        return self.workdir / "dnsmasq.leases"

    @property
    def status_path(self) -> Path:
        """libvirt's status file, as its leases helper wrote it (the libvirt flavours)."""
        return self.workdir / "varlib" / "libvirt" / "dnsmasq" / f"{self.interface}.status"

    @property
    def dbus_address(self) -> str:
        """The lab's own system bus (``dbus=True``): dnsmasq registers its name on it."""
        return f"unix:path={self.workdir / 'bus'}"

    @property
    def dbus_name(self) -> str:
        return f"uk.org.thekelleys.dnsmasq.lw{self.tag}"

    @property
    def network_name(self) -> str:
        """The libvirt network's name (the libvirtd flavour)."""
        return f"lw{self.tag}"

    @property
    def uri(self) -> str:
        """How to reach this lab's libvirtd from the host namespace (the libvirtd flavour)."""
        return f"network:///system?socket={self.workdir / 'run' / 'libvirt' / 'libvirt-sock'}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "dnsmasq.log"

    @property
    def interface(self) -> str:
        """Where dnsmasq serves: the veth end, or libvirt's bridge the veth end joins."""
        if self.flavour == "libvirtd":
            return f"lw{self.tag}b"
        return self.hypervisor.server_iface

    @property
    def pid(self) -> int:
        assert self.dnsmasq is not None
        return int((self.workdir / "dnsmasq.pid").read_text().strip() or self.dnsmasq.pid)

    @classmethod
    def start(
        cls,
        pool_size: int = 21,
        *,
        flavour: str = "plain",
        ipv6: bool = False,
        dbus: bool = False,
        base: str = "198.18.1.192",
        extra: Sequence[str] = (),
    ) -> DnsmasqLab:
        """Build the namespaces, start dnsmasq; wait until it serves."""
        if flavour not in FLAVOURS:
            raise LabError(f"unknown dnsmasq lab flavour {flavour!r}")
        lab = cls(Layout.seed(pool_size, base), flavour, ipv6=ipv6, dbus=dbus)
        return lab._built(lambda: lab._build(extra))

    def conf_text(self, extra: Sequence[str] = ()) -> str:
        """The dnsmasq.conf of this lab: DHCP only, on the veth end only."""
        layout = self.layout
        lines = [
            "# Written by leasewatch's lab (lab/dnsmasq.py); dnsmasq(8).",
            "port=0",
            "bind-interfaces",
            f"interface={self.interface}",
            "dhcp-authoritative",
            # no ICMP probe before an offer: the VMs never configure their address
            "no-ping",
            "log-dhcp",
            f"dhcp-range=set:lab,{layout.first},{layout.last},{layout.subnet.netmask},{LEASE_TIME}",
        ]
        if self.ipv6:
            lines.append(f"dhcp-range={V6_SUBNET}100,{V6_SUBNET}1ff,64,{LEASE_TIME}")
        if self.dbus:
            lines.append(f"enable-dbus={self.dbus_name}")
        if self.flavour == "libvirt":
            lines += ["leasefile-ro", f"dhcp-script={LEASESHELPER}"]
        else:
            lines.append(f"dhcp-leasefile={self.leases_path}")
        return "\n".join([*lines, *extra, ""])

    def _build(self, extra: Sequence[str]) -> None:
        hv = self._network()
        if self.flavour == "libvirtd":
            self._build_libvirtd()
            return
        prefix = self.layout.subnet.prefixlen
        add_address(hv.server_ns, hv.server_iface, f"{self.layout.server_ip}/{prefix}")
        if self.ipv6:
            hv.server_ns.ip("addr", "add", f"{V6_SUBNET}1/64", "dev", self.interface, "nodad")
        self.conf_path.write_text(self.conf_text(extra), encoding="utf-8")
        pid_file = self.workdir / "dnsmasq.pid"
        argv = [
            DNSMASQ,
            "--keep-in-foreground",
            f"--conf-file={self.conf_path}",
            f"--pid-file={pid_file}",
            "--log-facility=-",  # stderr: our log file
            "--user=root",  # the lab's files are root's; the real one drops to its own user
            "--group=root",
        ]
        if self.flavour == "libvirt":
            argv = self._libvirt_wrap(argv)
        if self.dbus:
            argv = ["env", f"DBUS_SYSTEM_BUS_ADDRESS={self._start_bus()}", *argv]
        self.dnsmasq = launch(
            "dnsmasq",
            argv,
            ns=self.server_ns,
            log=self.log_path,
            ready=[log_line(SERVING, self.log_path)],
            files=[pid_file],
        )

    def _start_bus(self) -> str:
        """A dbus-daemon of the lab's own, system type, that lets anyone own and call names."""
        assert self.server_ns is not None
        conf = self.workdir / "bus.conf"
        conf.write_text(
            '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"\n'
            ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
            "<busconfig><type>system</type>"
            f"<listen>{self.dbus_address}</listen><auth>EXTERNAL</auth>"
            '<policy context="default"><allow user="*"/><allow own="*"/>'
            '<allow send_destination="*"/><allow receive_type="*"/></policy>'
            "</busconfig>\n"
        )
        socket_path = self.workdir / "bus"
        self._bus = launch(
            "dbus-daemon",
            ["dbus-daemon", f"--config-file={conf}", "--nofork"],
            ns=self.server_ns,
            log=self.workdir / "bus.log",
            ready=[unix_socket(socket_path)],
            timeout=10,
            files=[socket_path],
        )
        return self.dbus_address

    def _libvirt_wrap(self, argv: list[str]) -> list[str]:
        """dnsmasq in a private mount namespace where /var/lib and /run are the lab's."""
        varlib = self.workdir / "varlib"
        (varlib / "libvirt" / "dnsmasq").mkdir(parents=True)
        run = self.workdir / "run"
        run.mkdir()
        mounts = [(varlib, "/var/lib"), (run, "/run")]
        return with_mounts(argv, mounts, VIR_BRIDGE_NAME=self.interface)

    # ------------------------------------------------------------------ libvirtd

    def _build_libvirtd(self) -> None:
        """libvirtd in a private mount namespace; its network's dnsmasq serves the VMs."""
        assert self.server_ns is not None
        self.libvirtd = run_libvirtd(
            self.server_ns,
            self.workdir,
            uri=self.uri,
            mounts=system_mounts(self.workdir),
            answers=("net-list", "--all"),
            logs=[self.log_path],
        )
        self.log_path.touch()
        self.log_path.chmod(0o666)  # libvirt's dnsmasq runs as nobody
        network = self.workdir / "network.xml"
        network.write_text(self.network_xml(), encoding="utf-8")
        self.virsh("net-define", str(network))
        self.virsh("net-start", self.network_name)
        self.server_ns.ip("link", "set", self.hypervisor.server_iface, "master", self.interface)
        # libvirtd starts dnsmasq itself: ready once dnsmasq says it serves (while libvirtd
        # lives; a failure quotes both logs)
        self.libvirtd.wait_ready([log_line(SERVING, self.log_path)], timeout=15.0)

    def network_xml(self) -> str:
        """The libvirt network: open forwarding (no firewall), DNS off, the seed's pool."""
        layout = self.layout
        return (
            "<network xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'>\n"
            f"  <name>{self.network_name}</name>\n"
            "  <forward mode='open'/>\n"
            f"  <bridge name='{self.interface}'/>\n"
            "  <dns enable='no'/>\n"
            f"  <ip address='{layout.server_ip}' netmask='{layout.subnet.netmask}'>\n"
            "    <dhcp>\n"
            f"      <range start='{layout.first}' end='{layout.last}'>\n"
            "        <lease expiry='72' unit='hours'/>\n"
            "      </range>\n"
            f"      <host mac='{RESERVED_MAC}' name='reserved' ip='{layout.gateway + 2}'/>\n"
            "    </dhcp>\n"
            "  </ip>\n"
            "  <dnsmasq:options>\n"
            f"    <dnsmasq:option value='log-facility={self.log_path}'/>\n"
            "    <dnsmasq:option value='log-dhcp'/>\n"
            "    <dnsmasq:option value='no-ping'/>\n"
            "  </dnsmasq:options>\n"
            "</network>\n"
        )

    def virsh(self, *args: str) -> str:
        """``virsh`` against this lab's libvirtd."""
        return virsh(self.uri, *args)

    def log_tail(self, lines: int = 20) -> str:
        return tail(self.log_path, lines)

    # ------------------------------------------------------------------ VMs

    def start_v6_client(self, timeout: float = 20.0) -> IPv6Address:
        """A DHCPv6 client VM (``dhclient -6``, ``Hypervisor.boot6``); returns its address once
        dnsmasq recorded it."""
        (vm,) = self.hypervisor.boot6(1, "na", timeout=timeout)
        if vm.ip6 is None:
            raise LabError(f"dhclient -6 got no lease in {timeout}s:\n{self.log_tail()}")
        self.wait_recorded([vm.ip6], timeout=timeout)
        return vm.ip6

    def wait_recorded(self, addresses: Iterable[object], timeout: float = 10.0) -> None:
        """Until the lease file (or libvirt's status) names every address.

        dnsmasq runs its --dhcp-script after it has answered the client, so libvirt's status
        file lags the VM's lease by a few milliseconds.
        """
        path = self.leases_path if self.flavour == "plain" else self.status_path
        wanted = {str(a) for a in addresses}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                text = path.read_text(errors="replace")
            except FileNotFoundError:
                text = ""
            words = set(re.findall(r"[0-9a-f.:]+", text))
            if wanted <= words:
                return
            time.sleep(0.05)
        raise LabError(f"{path} does not name {sorted(wanted)} after {timeout}s")

    def rewrite_storm(self, vms: Sequence[Vm], stop: threading.Event) -> threading.Thread:
        """Make dnsmasq rewrite its lease file as fast as it can, until ``stop`` is set.

        A thread in the hypervisor's namespace sends each VM's DHCPREQUEST (INIT-REBOOT:
        its own address, by broadcast) with a host name that alternates: dnsmasq ACKs, the
        lease changes, and dnsmasq truncates and rewrites the whole file every time.
        """
        hv = self.hypervisor

        def storm() -> None:
            enter_namespace_thread(hv.ns)
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, hv.uplink.encode())
            sock.bind(("0.0.0.0", 0))
            turn = 0
            while not stop.is_set():
                for vm in vms:
                    assert vm.ip is not None
                    name = f"{vm.name}{'x' * (turn % 2)}"
                    sock.sendto(_dhcp_request(vm.mac, vm.ip, name), ("255.255.255.255", 67))
                turn += 1
                stop.wait(0.002)
            sock.close()

        thread = threading.Thread(target=storm, name="dnsmasq-rewrite-storm", daemon=True)
        thread.start()
        return thread

    # ------------------------------------------------------------------ leasewatch

    def server_toml(self, server_name: str = "lab-dnsmasq", timeout: float = 5.0) -> str:
        """The ``[[servers]]`` table for this lab's dnsmasq (the interface is left out where
        leasewatch finds it itself: libvirt's status file and network are named after it)."""
        if self.flavour == "libvirtd":
            source = [
                f"libvirt_network = {_toml(self.network_name)}",
                f"uri = {_toml(self.uri)}",
            ]
        elif self.flavour == "libvirt":
            source = [
                f"status = {_toml(str(self.status_path))}",
                f"dnsmasq_conf = {_toml(str(self.conf_path))}",
            ]
        else:
            source = [
                f"leases = {_toml(str(self.leases_path))}",
                f"dnsmasq_conf = {_toml(str(self.conf_path))}",
                f"interface = {_toml(self.interface)}",
            ]
        return "\n".join(
            [
                "[[servers]]",
                f"name = {_toml(server_name)}",
                'kind = "dnsmasq"',
                *source,
                f"netns = {_toml(self.netns)}",
                f"timeout = {timeout}",
                "",
            ]
        )

    def leasewatch_toml(
        self,
        state: Path,
        inventory: Sequence[str] | None = None,
        reaper: str = 'grace = "0s"',
        server_name: str = "lab-dnsmasq",
    ) -> str:
        """A leasewatch config for this lab: the dnsmasq, the hypervisor's inventory."""
        argv = list(inventory) if inventory is not None else self.inventory_argv()
        return "\n".join([self.server_toml(server_name), *common_sections(argv, reaper, state)])

    # ------------------------------------------------------------------ teardown

    def _stop_servers(self) -> None:
        """Stop dnsmasq, libvirtd, the bus (then the VMs and namespaces go: ``ServerLab``)."""
        for daemon in (self.dnsmasq, self.libvirtd, self._bus):
            if daemon is not None:
                daemon.stop()  # libvirtd's own dnsmasq dies with the namespace
