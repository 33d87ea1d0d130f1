"""Real kea-dhcp6 (lease_cmds loaded) for tests and the demo, each in its own directory.

As ``lab.kea`` for kea-dhcp4: every file Kea writes (config, memfile, control socket, log,
PID and lock files, and the server's own DUID) goes under one temporary directory. Measured
on Kea 2.2: kea-dhcp6 writes its server DUID to ``/var/lib/kea/kea-dhcp6-serverid`` unless
``data-directory`` says otherwise, and refuses to start when it cannot; a subnet6 answers
clients on the same link only when it names the ``interface``; Kea reads a MAC out of a
client's EUI-64 link-local address only when the MAC is universally administered (its
``ipv6-link-local`` mac-source), else it falls back to the next source, ``duid`` (a clone
keeps its template's DUID, with the template's MAC inside). The lab's VMs therefore have
universal MACs (``universal_mac``) and Kea ``mac-sources`` ``["ipv6-link-local"]`` unless a
test asks for another list. Subnets and pools come from 2001:db8::/32 only.

``Kea6Lab``: kea-dhcp6 in a namespace serving ``lab.isc.Layout6`` (the dhcpd -6 lab's plan:
a /64 on the link with a small address pool, and a small PD pool) to a hypervisor of
``dhclient -6`` VMs (``lab.vm``).
``running_kea6(root)`` alone, with no interfaces, is an API-only server (no DHCP socket).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator, Sequence
from ipaddress import IPv6Network
from pathlib import Path
from typing import Any

from lab.base import ServerLab
from lab.isc import Layout6
from lab.kea import LEASE_CMDS, KeaAgent, KeaServer, agent_toml, running_agent, running_daemon
from lab.netns import LabError, Namespace
from lab.toml import common_sections
from lab.toml import toml_string as _toml
from lab.vm import Hypervisor, Vm


def pd_prefix(layout: Layout6) -> IPv6Network:
    """The PD pool as Kea configures it (a prefix): ``pd_count`` must be a power of two."""
    count = layout.pd_count
    if count & (count - 1):
        raise LabError(f"Kea's pd-pool is one prefix: pd_count {count} is not a power of two")
    length = layout.pd_len - (count.bit_length() - 1)
    return IPv6Network(f"{layout.pd_base}/{length}")


def universal_mac() -> str:
    """A random universally administered MAC (Xen's OUI, 00:16:3e: a lab namespace only)."""
    return "00:16:3e:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(3))


def kea6_config(
    root: Path,
    subnets: Sequence[dict[str, Any]],
    *,
    interfaces: Sequence[str] = (),
    valid_lifetime: int = 3600,
    mac_sources: Sequence[str] = ("ipv6-link-local",),
) -> dict[str, Any]:
    """The kea-dhcp6 configuration for a lab server living in ``root``."""
    return {
        "Dhcp6": {
            "interfaces-config": {"interfaces": list(interfaces)},
            "control-socket": {"socket-type": "unix", "socket-name": str(root / "kea6.sock")},
            "lease-database": {
                "type": "memfile",
                "persist": True,
                "name": str(root / "kea-leases6.csv"),
                "lfc-interval": 0,
            },
            # the server DUID file; Kea 2.2 writes /var/lib/kea/kea-dhcp6-serverid otherwise
            "data-directory": str(root),
            "hooks-libraries": [{"library": str(LEASE_CMDS)}],
            "mac-sources": list(mac_sources),
            "preferred-lifetime": valid_lifetime // 2,
            "valid-lifetime": valid_lifetime,
            "subnet6": list(subnets),
            "loggers": [
                {
                    "name": "kea-dhcp6",
                    "output_options": [{"output": str(root / "kea-dhcp6.log")}],
                    "severity": "INFO",
                }
            ],
        }
    }


@contextlib.contextmanager
def running_kea6(
    root: Path,
    subnets: Sequence[dict[str, Any]],
    *,
    interfaces: Sequence[str] = (),
    valid_lifetime: int = 3600,
    mac_sources: Sequence[str] = ("ipv6-link-local",),
    ns: Namespace | None = None,
    start_timeout: float = 15.0,
) -> Iterator[KeaServer]:
    """Start kea-dhcp6 with its files in ``root`` (inside ``ns`` when given); stop it (and
    remove its socket) on exit."""
    config = kea6_config(
        root, subnets, interfaces=interfaces, valid_lifetime=valid_lifetime, mac_sources=mac_sources
    )
    with running_daemon(
        "kea-dhcp6",
        root,
        config,
        "kea6.sock",
        "kea-leases6.csv",
        ns=ns,
        start_timeout=start_timeout,
    ) as server:
        yield server


class Kea6Lab(ServerLab):
    """kea-dhcp6 in its own namespace serving ``layout`` to a hypervisor of DHCPv6 VMs.

    Duplicate address detection is off in both namespaces: Kea binds to the link's
    addresses at once, and dhclient -6 exits while its link-local address is tentative.
    ``close()`` (or ``with``) stops Kea and the VMs and removes the namespaces and files.
    """

    def __init__(self, layout: Layout6) -> None:
        super().__init__()
        self.layout = layout
        self.server: KeaServer | None = None
        self.agent: KeaAgent | None = None
        self._stack = contextlib.ExitStack()

    @classmethod
    def start(
        cls,
        layout: Layout6 | None = None,
        *,
        valid_lifetime: int = 259200,
        mac_sources: Sequence[str] = ("ipv6-link-local",),
        agent: bool = False,
        username: str | None = None,
        password: str | None = None,
    ) -> Kea6Lab:
        """Build the namespaces and start Kea; wait until it answers. With ``agent``, a
        kea-ctrl-agent on 127.0.0.1:<free port> forwards to kea-dhcp6 as the dhcp6 service
        (with basic auth when a user is given), and ``leasewatch_toml`` names its URL."""
        lab = cls(layout or Layout6())

        def build() -> None:
            lab._build(valid_lifetime, mac_sources)
            if agent:
                lab.agent = lab._stack.enter_context(
                    running_agent(
                        lab.kea,
                        username=username,
                        password=password,
                        sockets={"dhcp6": lab.kea.socket_path},
                    )
                )

        return lab._built(build)

    def _build(self, valid_lifetime: int, mac_sources: Sequence[str]) -> None:
        layout = self.layout
        # not ServerLab._network(): DAD goes off before the veth is made, so that its
        # link-local address is never tentative
        self.server_ns = Namespace.create(f"lw-{self.tag}-srv")
        for scope in ("all", "default"):
            self.server_ns.run("sysctl", "-q", "-w", f"net.ipv6.conf.{scope}.accept_dad=0")
        hv = self.hv = Hypervisor.create(self.server_ns, self.tag, self.workdir)
        cidr = f"{layout.server_ip}/{layout.subnet.prefixlen}"
        self.server_ns.ip("addr", "add", cidr, "dev", hv.server_iface, "nodad")
        prefix = pd_prefix(layout)
        subnet = {
            "id": 1,
            "subnet": str(layout.subnet),
            "interface": hv.server_iface,  # same-link clients: Kea 2.2 needs it (measured)
            "pools": [{"pool": f"{layout.first} - {layout.last}"}],
            "pd-pools": [
                {
                    "prefix": str(prefix.network_address),
                    "prefix-len": prefix.prefixlen,
                    "delegated-len": layout.pd_len,
                }
            ],
        }
        self.server = self._stack.enter_context(
            running_kea6(
                self.workdir / "kea",
                [subnet],
                interfaces=[hv.server_iface],
                valid_lifetime=valid_lifetime,
                mac_sources=mac_sources,
                ns=self.server_ns,
            )
        )

    @property
    def kea(self) -> KeaServer:
        assert self.server is not None
        return self.server

    def boot6(
        self, n: int = 1, dhcp6: str = "na", timeout: float = 20.0, *, universal: bool = True
    ) -> list[Vm]:
        """Start ``n`` DHCPv6 VMs (universal MACs unless told otherwise) and wait for them."""
        hv = self.hypervisor
        macs = [universal_mac() if universal else None for _ in range(n)]
        return hv.wait([hv.start(dhcp6=dhcp6, mac=mac) for mac in macs], timeout=timeout)

    def leases(self) -> list[dict[str, Any]]:
        """Every lease Kea holds now (``lease6-get-all``)."""
        answer = self.kea.command("lease6-get-all")
        leases: list[dict[str, Any]] = answer.get("arguments", {}).get("leases", [])
        return leases

    def leasewatch_toml(self, state: Path, reaper: str = 'grace = "0s"') -> str:
        """A leasewatch config: this Kea by its control socket (or the agent's URL, its
        password in a file, no ``service``: leasewatch finds dhcp6), the hypervisor's VMs."""
        server = ["[[servers]]", 'name = "kea6"', 'kind = "kea"', "timeout = 5"]
        if self.agent is None:
            server.append(f"control_socket = {_toml(str(self.kea.socket_path))}")
        else:
            server += agent_toml(self.agent, self.workdir)
        return "\n".join([*server, "", *common_sections(self.inventory_argv(), reaper, state)])

    def _stop_servers(self) -> None:
        """Stop the agent, then Kea (the VMs and namespaces go after, in ``ServerLab``)."""
        self._stack.close()
