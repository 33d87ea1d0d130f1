"""Two real kea-dhcp4 in a Kea HA relationship (hot-standby), for the HA story and tests.

Debian bookworm's Kea 2.2 ships the HA hook (libdhcp_ha.so). Each server runs in its own
network namespace with its own memfile and UNIX control socket (under its own directory).
The peers talk HA over HTTP through each server's own dedicated listener (Kea 1.9.7+: core
multi-threading plus the hook's ``multi-threading`` map with ``http-dedicated-listener``),
so no kea-ctrl-agent runs. That listener answers every control command, unauthenticated:
it listens only on the pair's lab network here, and must never listen beyond the pair's
network in production.

Wiring: the hypervisor namespace (``lab.vm.Hypervisor``) holds a bridge joining one veth
to each server's namespace; the VMs' macvlans hang off the bridge, so both servers see every
DHCP broadcast and reach each other's listener over the same subnet. In hot-standby only
the primary answers clients while both are healthy.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lab.base import VmLab
from lab.isc import Layout
from lab.kea import HOOKS_DIR, LEASE_CMDS, KeaLabError, KeaServer, running_kea
from lab.netns import Namespace, add_address, veth
from lab.toml import common_sections
from lab.toml import toml_string as _toml
from lab.vm import Hypervisor

HA_HOOK = HOOKS_DIR / "libdhcp_ha.so"
HA_PORT = 8001  # the ARM's suggestion: not the agent's 8000
NAMES = ("server1", "server2")
ROLES = ("primary", "standby")
# the states in which a hot-standby pair serves normally (ha-heartbeat's "state")
SERVING = frozenset({"hot-standby"})


def ha_hook(this: str, urls: Sequence[str], mode: str = "hot-standby") -> dict[str, Any]:
    """The ``hooks-libraries`` entry of libdhcp_ha.so for server ``this`` of the pair.

    Short heartbeat and failure detection delays, so the lab converges in seconds.
    """
    peers = [
        {"name": name, "url": url, "role": role, "auto-failover": True}
        for name, url, role in zip(NAMES, urls, ROLES, strict=True)
    ]
    return {
        "library": str(HA_HOOK),
        "parameters": {
            "high-availability": [
                {
                    "this-server-name": this,
                    "mode": mode,
                    "heartbeat-delay": 1000,
                    "max-response-delay": 3000,
                    "max-ack-delay": 1000,
                    "max-unacked-clients": 0,
                    "sync-timeout": 10000,
                    "multi-threading": {
                        "enable-multi-threading": True,
                        "http-dedicated-listener": True,
                        "http-listener-threads": 2,
                        "http-client-threads": 2,
                    },
                    "peers": peers,
                }
            ]
        },
    }


class KeaHaLab(VmLab):
    """Two kea-dhcp4 (server1 primary, server2 standby) and a hypervisor of dhclient VMs.

    The same address plan as ``lab.kea.KeaLab`` (``Layout.seed``); server1 is at the
    layout's server address, server2 at the next one. ``restart(i)`` stops one server and
    starts it again on the same files (its memfile survives); ``close()`` removes it all.
    """

    def __init__(self, layout: Layout) -> None:
        super().__init__()
        self.layout = layout
        self.namespaces: list[Namespace] = []
        self.servers: list[KeaServer | None] = [None, None]
        self._stacks = [contextlib.ExitStack(), contextlib.ExitStack()]
        self._ifaces: list[str] = []

    @classmethod
    def start(cls, pool_size: int = 21, base: str = "198.18.1.192") -> KeaHaLab:
        """Build the namespaces, start both servers, wait until both are in hot-standby."""
        lab = cls(Layout.seed(pool_size, base))
        return lab._built(lab._build)

    @property
    def addresses(self) -> tuple[str, str]:
        first = self.layout.server_ip
        return str(first), str(first + 1)

    @property
    def urls(self) -> list[str]:
        return [f"http://{address}:{HA_PORT}/" for address in self.addresses]

    def _build(self) -> None:
        tag = self.tag
        ns1 = Namespace.create(f"lw-{tag}-k1")
        self.namespaces.append(ns1)
        ns2 = Namespace.create(f"lw-{tag}-k2")
        self.namespaces.append(ns2)
        hv = self.hv = Hypervisor.create(ns1, tag, self.workdir)
        # One L2 for both servers and the VMs: a bridge in the hypervisor's namespace joins
        # server1's veth (the hypervisor's uplink) and a second veth from server2; the VMs'
        # macvlans hang off the bridge.
        bridge, second, far = f"lw{tag}b", f"lw{tag}t", f"lw{tag}u"
        veth(ns2, second, hv.ns, far)
        hv.ns.ip("link", "add", bridge, "type", "bridge")
        for port in (hv.uplink, far):
            hv.ns.ip("link", "set", port, "master", bridge)
        hv.ns.ip("link", "set", bridge, "up")
        hv.uplink = bridge
        self._ifaces = [hv.server_iface, second]
        prefix = self.layout.subnet.prefixlen
        for ns, iface, address in zip(self.namespaces, self._ifaces, self.addresses, strict=True):
            add_address(ns, iface, f"{address}/{prefix}")
        for index in (0, 1):
            self._start_server(index)
        self.wait_for_state(SERVING)

    def _subnets(self) -> dict[str, Any]:
        layout = self.layout
        net = layout.subnet
        return {
            "subnet4": [
                {
                    "id": 1,
                    "subnet": str(net),
                    "pools": [{"pool": f"{layout.first} - {layout.last}"}],
                    "option-data": [
                        {"name": "routers", "data": str(layout.gateway)},
                        {"name": "broadcast-address", "data": str(net.broadcast_address)},
                    ],
                }
            ]
        }

    def _start_server(self, index: int) -> None:
        ns = self.namespaces[index]
        extra = {
            # HA+MT needs Kea's core multi-threading
            "multi-threading": {"enable-multi-threading": True, "thread-pool-size": 2},
            "hooks-libraries": [
                {"library": str(LEASE_CMDS)},
                ha_hook(NAMES[index], self.urls),
            ],
        }
        stack = self._stacks[index]
        self.servers[index] = stack.enter_context(
            running_kea(
                self.workdir / NAMES[index],
                interfaces=[self._ifaces[index]],
                subnets=self._subnets(),
                valid_lifetime=259200,
                ns=ns,
                dhcp4_extra=extra,
            )
        )

    def kea(self, index: int) -> KeaServer:
        server = self.servers[index]
        if server is None:
            raise KeaLabError(f"{NAMES[index]} is stopped")
        return server

    def stop(self, index: int) -> None:
        """Stop one server (SIGTERM); its files stay."""
        self._stacks[index].close()
        self._stacks[index] = contextlib.ExitStack()
        self.servers[index] = None

    def restart(self, index: int, wait: bool = True) -> None:
        """Stop one server and start it again on its files; wait for hot-standby again."""
        self.stop(index)
        self._start_server(index)
        if wait:
            self.wait_for_state(SERVING)

    def state(self, index: int) -> str:
        """The server's own HA state (``ha-heartbeat``), e.g. "hot-standby", "waiting"."""
        answer = self.kea(index).command("ha-heartbeat")
        return str((answer.get("arguments") or {}).get("state", f"result {answer['result']}"))

    def wait_for_state(self, states: frozenset[str], timeout: float = 60.0) -> None:
        """Wait until every running server is in one of ``states``."""
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while time.monotonic() < deadline:
            seen = [self.state(i) for i in (0, 1) if self.servers[i] is not None]
            if all(s in states for s in seen):
                return
            time.sleep(0.2)
        raise KeaLabError(f"HA states {seen} did not reach {sorted(states)} in {timeout}s")

    def sync(self, index: int) -> None:
        """``ha-sync`` on one server: it fetches the partner's leases (keeping its own)."""
        partner = NAMES[1 - index]
        answer = self.kea(index).command("ha-sync", {"server-name": partner})
        if answer["result"] != 0:
            raise KeaLabError(f"ha-sync on {NAMES[index]}: {answer.get('text')}")

    def lease(self, index: int, ip: str) -> dict[str, Any] | None:
        """``lease4-get`` on one server: the lease, or None when it has none for ``ip``."""
        answer = self.kea(index).command("lease4-get", {"ip-address": ip})
        if answer["result"] == 3:
            return None
        if answer["result"] != 0:
            raise KeaLabError(f"lease4-get {ip} on {NAMES[index]}: {answer.get('text')}")
        lease: dict[str, Any] = answer["arguments"]
        return lease

    def leasewatch_toml(self, state: Path, reaper: str = 'grace = "0s"') -> str:
        """A leasewatch config naming both servers by their control sockets."""
        lines: list[str] = []
        for index, name in enumerate(NAMES):
            lines += [
                "[[servers]]",
                f"name = {_toml('kea-' + name)}",
                'kind = "kea"',
                f"control_socket = {_toml(str(self.kea(index).socket_path))}",
                "timeout = 5",
                "",
            ]
        return "\n".join([*lines, *common_sections(self.inventory_argv(), reaper, state)])

    def _teardown(self) -> None:
        """Stop both servers, then the VMs; delete the namespaces (the temp dir goes last,
        in ``LabBase``)."""
        try:
            for stack in self._stacks:
                stack.close()
        finally:
            if self.hv is not None:
                self.hv.close()
            for ns in self.namespaces:
                ns.delete()
