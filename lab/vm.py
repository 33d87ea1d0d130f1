"""The "hypervisor": a namespace of dhclient VMs, joined to the DHCP server's namespace.

API (shared with the Kea lab):

- ``Hypervisor.create(server_ns, tag, workdir)``: a namespace ``lw-<tag>-hv`` joined to
  ``server_ns`` by a veth pair; ``hv.server_iface`` is the server-side end, on which the
  DHCP server must listen (give it an address in the subnet first).
- ``hv.boot(n, timeout)`` -> ``list[Vm]``: n VMs, each a macvlan with a random locally
  administered MAC running a real ``dhclient`` (foreground, ``-sf /bin/true``, its own
  ``-lf``/``-pf``/``-cf``); waits until each is bound or ``timeout`` passes. A VM that got no
  address has ``vm.ip is None`` (the story's "no address"); it stays up and keeps trying
  until destroyed, as a real VM would.
- ``hv.start(dhcp6="na"|"ta"|"pd")`` / ``hv.boot6(n, kind)``: a DHCPv6 VM instead, running
  ``dhclient -6`` (``-T`` for a temporary address, ``-P`` for a delegated prefix); its
  address lands in ``vm.ip6`` or its prefix in ``vm.prefix``. Duplicate address detection
  is off in the hypervisor's namespace (``accept_dad=0``), so the link-local address is
  usable at once and dhclient -6 does not exit on a tentative one. dhclient 4.4 makes a
  DUID-LLT from the VM's MAC and keeps it in its lease file (``default-duid``).
- ``hv.destroy(vm)``: SIGKILL its dhclient and delete its link: no DHCPRELEASE is sent,
  exactly the story's test VMs.
- ``hv.live`` (VMs not destroyed), ``hv.inventory_argv()``: the command that prints the live
  VMs' MACs (``python lab/inventory.py <state dir>``, runs from any directory), for
  ``[[inventory]] kind="command"``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from pathlib import Path

from lab import inventory
from lab.launch import Daemon, launch
from lab.netns import (
    LabError,
    Namespace,
    delete_link,
    macvlan,
    random_mac,
    veth,
)

_FIXED_ADDRESS = re.compile(r"fixed-address\s+([0-9.]+);")
# dhclient -6's lease file (its own format, not dhcpd's): ``iaaddr ADDR {`` in an ia-na or
# ia-ta, ``iaprefix ADDR/LEN {`` in an ia-pd
_IAADDR = re.compile(r"iaaddr ([0-9a-fA-F:]+) \{")
_IAPREFIX = re.compile(r"iaprefix ([0-9a-fA-F:]+/[0-9]+) \{")
DHCP6_FLAGS = {"na": [], "ta": ["-T"], "pd": ["-P"]}  # dhclient(8): what -6 asks for


@dataclass
class Vm:
    """One VM: a macvlan link with a dhclient on it."""

    name: str
    iface: str
    mac: str
    dir: Path
    dhclient: Daemon = field(repr=False)
    ip: IPv4Address | None = None
    destroyed: bool = False
    dhcp6: str | None = None  # None: a DHCPv4 VM; else "na", "ta" or "pd"
    ip6: IPv6Address | None = None
    prefix: IPv6Network | None = None

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        return self.dhclient.proc

    @property
    def bound(self) -> bool:
        """Whether it holds what it asked for (an address, or a prefix)."""
        if self.dhcp6 is None:
            return self.ip is not None
        return self.prefix is not None if self.dhcp6 == "pd" else self.ip6 is not None

    @property
    def lease_file(self) -> Path:
        return self.dir / "dhclient.leases"

    def read_ip(self) -> IPv4Address | None:
        """The address of the last lease dhclient wrote (its lease file is a journal too)."""
        try:
            text = self.lease_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        found = _FIXED_ADDRESS.findall(text)
        return IPv4Address(found[-1]) if found else None

    def read_v6(self) -> None:
        """Fill ``ip6``/``prefix`` from dhclient -6's lease file (its last lease wins)."""
        try:
            text = self.lease_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        if found := _IAADDR.findall(text):
            self.ip6 = IPv6Address(found[-1])
        if prefixes := _IAPREFIX.findall(text):
            self.prefix = IPv6Network(prefixes[-1])

    @property
    def default_duid(self) -> str | None:
        """The ``default-duid`` line dhclient -6 keeps in its lease file (an octal string)."""
        try:
            text = self.lease_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        found = re.findall(r"^default-duid (.*);$", text, re.MULTILINE)
        return found[-1] if found else None


class Hypervisor:
    """A namespace holding the VMs, wired to the DHCP server's namespace by a veth pair."""

    def __init__(self, ns: Namespace, server_ns: Namespace, tag: str, workdir: Path) -> None:
        self.ns = ns
        self.server_ns = server_ns
        self.tag = tag
        self.workdir = workdir
        self.server_iface = f"lw{tag}s"
        self.uplink = f"lw{tag}h"
        self.vms: list[Vm] = []
        self._next = 1
        (workdir / "vms").mkdir(parents=True, exist_ok=True)

    @classmethod
    def create(cls, server_ns: Namespace, tag: str, workdir: Path) -> Hypervisor:
        ns = Namespace.create(f"lw-{tag}-hv")
        # no duplicate address detection for the links made from now on: dhclient -6
        # exits at once while the link-local address is tentative (DHCPv6 VMs)
        for scope in ("all", "default"):
            ns.run("sysctl", "-q", "-w", f"net.ipv6.conf.{scope}.accept_dad=0")
        hv = cls(ns, server_ns, tag, workdir)
        veth(server_ns, hv.server_iface, ns, hv.uplink)
        return hv

    @property
    def live(self) -> list[Vm]:
        return [vm for vm in self.vms if not vm.destroyed]

    def inventory_argv(self) -> list[str]:
        """The inventory command: prints the live VMs' MACs, one per line."""
        return [sys.executable, str(Path(inventory.__file__)), str(self.workdir)]

    def start(
        self,
        hostname: str | None = None,
        mac: str | None = None,
        dhcp6: str | None = None,
        duid: str | None = None,
    ) -> Vm:
        """Create one VM (with ``mac``, else a random one, as a clone gets) and start its
        dhclient; does not wait for a lease.

        ``dhcp6`` ("na", "ta", "pd") makes it a DHCPv6 client; ``duid`` (a ``default-duid``
        value) is written to its lease file first, as a clone of a template keeps it.
        """
        if dhcp6 is not None and dhcp6 not in DHCP6_FLAGS:
            raise LabError(f"unknown DHCPv6 request {dhcp6!r}: expected one of {list(DHCP6_FLAGS)}")
        number = self._next
        self._next += 1
        name = hostname or f"vm-{number:03d}"
        iface = f"lw{self.tag}m{number}"
        if len(iface) > 15:
            raise LabError(f"too many VMs for interface name {iface!r}")
        mac = mac or random_mac()
        vmdir = self.workdir / "vms" / name
        vmdir.mkdir(parents=True)
        # Our own dhclient.conf: nothing from the host's, a hostname so reports show one,
        # and quick retries so a VM that lost the race for the last address asks again soon.
        (vmdir / "dhclient.conf").write_text(
            f'send host-name "{name}";\n'
            "request subnet-mask, broadcast-address, routers;\n"
            "timeout 3600;\nretry 5;\ninitial-interval 1;\nbackoff-cutoff 2;\n",
            encoding="utf-8",
        )
        macvlan(self.ns, iface, self.uplink, mac)
        if duid is not None:
            (vmdir / "dhclient.leases").write_text(f"default-duid {duid};\n", encoding="utf-8")
        family = ["-4"] if dhcp6 is None else ["-6", *DHCP6_FLAGS[dhcp6]]
        argv = [
            "/sbin/dhclient",
            *family,
            "-d",  # foreground: the Popen is the VM's life
            "-sf",
            "/bin/true",  # never touch addresses or routes: we only want the lease
            "-cf",
            str(vmdir / "dhclient.conf"),
            "-lf",
            str(vmdir / "dhclient.leases"),
            "-pf",
            str(vmdir / "dhclient.pid"),
            iface,
        ]
        # no readiness to wait for: ``wait`` waits for the lease, of many VMs at once
        dhclient = launch(f"dhclient of {name}", argv, ns=self.ns, log=vmdir / "dhclient.log")
        vm = Vm(name=name, iface=iface, mac=mac, dir=vmdir, dhclient=dhclient, dhcp6=dhcp6)
        self.vms.append(vm)
        _write_atomic(vmdir / "mac", mac + "\n")
        return vm

    def wait(self, vms: list[Vm], timeout: float = 20.0) -> list[Vm]:
        """Wait until every VM in ``vms`` is bound, or ``timeout``; fills ``vm.ip``."""
        deadline = time.monotonic() + timeout
        pending = [vm for vm in vms if not vm.bound]
        while pending:
            for vm in pending:
                if vm.dhcp6 is None:
                    vm.ip = vm.read_ip()
                else:
                    vm.read_v6()
                if not vm.bound and not vm.dhclient.running:
                    code = vm.proc.returncode
                    raise LabError(
                        f"dhclient of {vm.name} exited {code}:\n{vm.dhclient.log_tail()}"
                    )
            pending = [vm for vm in pending if not vm.bound]
            if not pending or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        return vms

    def boot(self, n: int = 1, timeout: float = 20.0) -> list[Vm]:
        """Start ``n`` VMs at once and wait for their leases (``vm.ip`` None: no address)."""
        return self.wait([self.start() for _ in range(n)], timeout=timeout)

    def boot6(self, n: int = 1, dhcp6: str = "na", timeout: float = 20.0) -> list[Vm]:
        """Start ``n`` DHCPv6 VMs at once and wait for their addresses or prefixes."""
        return self.wait([self.start(dhcp6=dhcp6) for _ in range(n)], timeout=timeout)

    def release6(self, vm: Vm) -> None:
        """Shut a DHCPv6 VM down cleanly: stop its dhclient, then ``dhclient -6 -r`` sends a
        RELEASE for what it held (the server marks it ``released``); the VM stays listed."""
        if vm.dhcp6 is None:
            raise LabError(f"{vm.name} is not a DHCPv6 VM")
        vm.dhclient.stop()
        argv = ["/sbin/dhclient", "-6", *DHCP6_FLAGS[vm.dhcp6], "-r", "-sf", "/bin/true"]
        argv += ["-cf", str(vm.dir / "dhclient.conf"), "-lf", str(vm.lease_file)]
        self.ns.run(*argv, "-pf", str(vm.dir / "release.pid"), vm.iface, timeout=20)

    def destroy(self, vm: Vm) -> None:
        """Pull the plug: SIGKILL dhclient (no DHCPRELEASE), delete the link."""
        vm.dhclient.kill()
        delete_link(self.ns, vm.iface)
        (vm.dir / "mac").unlink(missing_ok=True)
        vm.destroyed = True

    def close(self) -> None:
        """Destroy every VM and remove the namespace."""
        for vm in self.live:
            self.destroy(vm)
        self.ns.delete()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


live_macs = inventory.live_macs
