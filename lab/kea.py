"""Real kea-dhcp4 (and kea-ctrl-agent) for tests and the demo, each in its own directory.

Everything a Kea server writes goes under one temporary directory: the config, the memfile
lease file, the control socket, the log, and (through KEA_PIDFILE_DIR and KEA_LOCKFILE_DIR)
its PID and lock files, so two labs never share a file and nothing in /run or /var/lib/kea is
touched. With no interfaces Kea opens no DHCP socket at all (an API-only server); for DHCP
traffic pass ``interfaces`` and the network namespace ``ns`` to run it in. Every Kea process
starts, waits and stops through ``lab.launch`` (``running_daemon``, ``running_agent``).

Subnets come from 198.18.0.0/15 only. ``default_subnets`` gives one shared network with two
subnets (one pool written "a - b", one written as a CIDR) and one lone subnet with a
reservation: the shapes ``leasewatch.leases.kea`` must understand.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.base import ServerLab
from lab.isc import Layout
from lab.launch import Daemon, launch, probe, tail, unix_socket
from lab.netns import LabError, Namespace, add_address, stop_process
from lab.tls import TlsFiles
from lab.toml import common_sections
from lab.toml import toml_string as _toml

HOOKS_DIR = Path("/usr/lib/x86_64-linux-gnu/kea/hooks")
LEASE_CMDS = HOOKS_DIR / "libdhcp_lease_cmds.so"
STAT_CMDS = HOOKS_DIR / "libdhcp_stat_cmds.so"


class KeaLabError(LabError):
    """Kea did not start, or did not answer, in the lab."""


def default_subnets() -> dict[str, Any]:
    """One shared network (two subnets, both pool forms) and one lone subnet."""
    return {
        "shared-networks": [
            {
                "name": "lab-shared",
                "subnet4": [
                    {
                        "id": 1,
                        "subnet": "198.18.1.0/24",
                        "pools": [{"pool": "198.18.1.10 - 198.18.1.20"}],
                    },
                    {"id": 2, "subnet": "198.18.2.0/24", "pools": [{"pool": "198.18.2.0/28"}]},
                ],
            }
        ],
        "subnet4": [
            {
                "id": 3,
                "subnet": "198.18.3.0/24",
                "pools": [{"pool": "198.18.3.100 - 198.18.3.120"}],
                "reservations": [
                    {
                        "hw-address": "52:54:00:00:03:05",
                        "ip-address": "198.18.3.5",
                        "hostname": "fixed-one",
                    }
                ],
            }
        ],
    }


def kea_command(
    socket_path: Path, command: str, arguments: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Send one command over a Kea control socket and return Kea's raw answer."""
    request: dict[str, Any] = {"command": command}
    if arguments is not None:
        request["arguments"] = dict(arguments)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(socket_path))
        sock.sendall(json.dumps(request).encode())
        data = b""
        while chunk := sock.recv(65536):  # Kea 2.2 closes the connection after answering
            data += chunk
    answer: dict[str, Any] = json.loads(data)
    return answer


@dataclass
class KeaServer:
    """A running kea-dhcp4 (or kea-dhcp6) with its files under ``root``."""

    root: Path
    socket_path: Path
    leases_file: Path
    config_path: Path
    log_path: Path
    daemon: Daemon

    @property
    def process(self) -> subprocess.Popen[bytes]:
        return self.daemon.proc

    def command(self, command: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one command over the control socket and return Kea's raw answer."""
        return kea_command(self.socket_path, command, arguments)

    def add_lease(self, ip: str, mac: str, **extra: Any) -> None:
        """``lease4-add`` one lease (Kea picks the subnet from the address)."""
        answer = self.command("lease4-add", {"ip-address": ip, "hw-address": mac, **extra})
        if answer["result"] != 0:
            raise KeaLabError(f"lease4-add {ip} {mac}: {answer['text']}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill Kea hard: its socket file stays behind, as after a crash (``Daemon.kill``
        would remove it); the daemon's stop at the end of the lab removes it."""
        stop_process(self.daemon.proc, sig, timeout=10)

    def log_tail(self, lines: int = 15) -> str:
        return tail(self.log_path, lines)


@dataclass
class KeaAgent:
    """A running kea-ctrl-agent on 127.0.0.1 forwarding to one KeaServer (or more)."""

    url: str
    username: str | None
    password: str | None
    daemon: Daemon
    log_path: Path
    tls: TlsFiles | None = None

    @property
    def process(self) -> subprocess.Popen[bytes]:
        return self.daemon.proc


def kea_config(
    root: Path,
    *,
    interfaces: Sequence[str] = (),
    hooks: Sequence[Path] = (LEASE_CMDS, STAT_CMDS),
    subnets: dict[str, Any] | None = None,
    valid_lifetime: int = 3600,
    lfc_interval: int = 0,
    dhcp4_extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The kea-dhcp4 configuration for a lab server living in ``root``."""
    dhcp4: dict[str, Any] = {
        "interfaces-config": {"interfaces": list(interfaces), "dhcp-socket-type": "raw"},
        "control-socket": {"socket-type": "unix", "socket-name": str(root / "kea4.sock")},
        "lease-database": {
            "type": "memfile",
            "persist": True,
            "name": str(root / "kea-leases4.csv"),
            "lfc-interval": lfc_interval,
        },
        "hooks-libraries": [{"library": str(h)} for h in hooks],
        "valid-lifetime": valid_lifetime,
        # Never probe or wait: the lab's clients are on a veth, and answers must be quick.
        "authoritative": True,
        "loggers": [
            {
                "name": "kea-dhcp4",
                "output_options": [{"output": str(root / "kea-dhcp4.log")}],
                "severity": "INFO",
            }
        ],
    }
    dhcp4.update(default_subnets() if subnets is None else subnets)
    dhcp4.update(dhcp4_extra or {})  # last: may replace hooks-libraries (the HA lab does)
    return {"Dhcp4": dhcp4}


def kea_env(root: Path) -> dict[str, str]:
    """The environment of a lab Kea: every directory Kea writes to is ``root``.

    Kea 2.6.3+ and 3.x (CVE-2025-32801/32803) accept a control socket, lease file or log
    only inside fixed directories unless these variables move them; 2.2 reads only the PID
    and lock file ones. Setting all of them lets the lab run unchanged on every release.
    """
    return {
        **os.environ,
        "KEA_PIDFILE_DIR": str(root),
        "KEA_LOCKFILE_DIR": str(root),
        "KEA_CONTROL_SOCKET_DIR": str(root),
        "KEA_DHCP_DATA_DIR": str(root),
        "KEA_LOG_FILE_DIR": str(root),
        "KEA_LOGGER_DESTINATION": str(root / "kea-early.log"),
    }


@contextlib.contextmanager
def running_kea(
    root: Path,
    *,
    interfaces: Sequence[str] = (),
    hooks: Sequence[Path] = (LEASE_CMDS, STAT_CMDS),
    subnets: dict[str, Any] | None = None,
    valid_lifetime: int = 3600,
    lfc_interval: int = 0,
    ns: Namespace | None = None,
    start_timeout: float = 15.0,
    dhcp4_extra: Mapping[str, Any] | None = None,
) -> Iterator[KeaServer]:
    """Start kea-dhcp4 with its files in ``root`` (inside ``ns`` when given); stop it (and
    remove its socket) on exit."""
    config = kea_config(
        root,
        interfaces=interfaces,
        hooks=hooks,
        subnets=subnets,
        valid_lifetime=valid_lifetime,
        lfc_interval=lfc_interval,
        dhcp4_extra=dhcp4_extra,
    )
    with running_daemon(
        "kea-dhcp4",
        root,
        config,
        "kea4.sock",
        "kea-leases4.csv",
        ns=ns,
        start_timeout=start_timeout,
    ) as server:
        yield server


@contextlib.contextmanager
def running_daemon(
    binary: str,
    root: Path,
    config: Mapping[str, Any],
    socket_name: str,
    leases_name: str,
    *,
    ns: Namespace | None = None,
    start_timeout: float = 15.0,
) -> Iterator[KeaServer]:
    """Start ``binary`` (kea-dhcp4 or kea-dhcp6) on ``config`` with every file in ``root``
    (``kea_env``), ready once its control socket answers ``version-get``; on exit it is
    stopped and its socket removed (``lab.launch``)."""
    root.mkdir(parents=True, exist_ok=True)
    config_path = root / f"{binary}.json"
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    socket_path = root / socket_name
    log_path = root / f"{binary}.log"

    def answers() -> bool:
        return bool(kea_command(socket_path, "version-get")["result"] == 0)

    daemon = launch(
        f"{binary} in {root}",
        [binary, "-c", str(config_path)],
        log=root / f"{binary}.stdout",
        ns=ns,
        env=kea_env(root),
        ready=[unix_socket(socket_path), probe(f"version-get on {socket_path}", answers)],
        timeout=start_timeout,
        files=[socket_path],
        logs=[log_path],
        stop_timeout=10,
    )
    with daemon:
        yield KeaServer(root, socket_path, root / leases_name, config_path, log_path, daemon)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def running_agent(
    server: KeaServer,
    *,
    username: str | None = None,
    password: str | None = None,
    tls: TlsFiles | None = None,
    cert_required: bool = True,
    start_timeout: float = 15.0,
    sockets: Mapping[str, Path] | None = None,
) -> Iterator[KeaAgent]:
    """Start kea-ctrl-agent on 127.0.0.1:<free port>, with basic auth when a user is given,
    and HTTPS when ``tls`` is (asking for a client certificate if ``cert_required``).
    It forwards to ``server`` as dhcp4, or to ``sockets`` (service -> control socket: a
    kea-dhcp6's as ``dhcp6``, or both daemons'); its files go to ``server.root``.

    Basic authentication exists in the agent since Kea 1.9.0 ("authentication" with
    "type": "basic" and a list of clients), TLS since 1.9.6 ("trust-anchor", "cert-file",
    "key-file", "cert-required"; Kea ARM, "The Kea Control Agent", "TLS/HTTPS Support").
    """
    root = server.root
    port = free_port()
    log_path = root / "kea-ctrl-agent.log"
    agent: dict[str, Any] = {
        "http-host": "127.0.0.1",
        "http-port": port,
        "control-sockets": {
            service: {"socket-type": "unix", "socket-name": str(path)}
            for service, path in (sockets or {"dhcp4": server.socket_path}).items()
        },
        "loggers": [
            {
                "name": "kea-ctrl-agent",
                "output_options": [{"output": str(log_path)}],
                "severity": "INFO",
            }
        ],
    }
    if tls is not None:
        agent["trust-anchor"] = str(tls.ca)
        agent["cert-file"] = str(tls.server_cert)
        agent["key-file"] = str(tls.server_key)
        agent["cert-required"] = cert_required
    if username is not None:
        agent["authentication"] = {
            "type": "basic",
            "realm": "leasewatch-lab",
            "clients": [{"user": username, "password": password or ""}],
        }
    config_path = root / "kea-ctrl-agent.json"
    config_path.write_text(json.dumps({"Control-agent": agent}, indent=2), encoding="utf-8")
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/"
    daemon = launch(
        f"kea-ctrl-agent in {root}",
        ["kea-ctrl-agent", "-c", str(config_path)],
        log=root / "kea-ctrl-agent.stdout",
        env=kea_env(root),
        ready=[
            probe(f"version-get on {url}", lambda: _agent_answers(url, username, password, tls))
        ],
        timeout=start_timeout,
        logs=[log_path],
        stop_timeout=10,
    )
    with daemon:
        yield KeaAgent(url, username, password, daemon, log_path, tls=tls)


def _agent_answers(
    url: str, username: str | None, password: str | None, tls: TlsFiles | None
) -> bool:
    """Whether the agent answers ``version-get`` (with the lab's credentials and client
    certificate): urllib, not leasewatch's client, so the lab does not test itself."""
    headers = {"Content-Type": "application/json"}
    if username is not None:
        token = base64.b64encode(f"{username}:{password or ''}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    context = None
    if tls is not None:
        context = ssl.create_default_context(cafile=str(tls.ca))
        context.load_cert_chain(str(tls.client_cert), str(tls.client_key))
    body = json.dumps({"command": "version-get"}).encode()
    request = urllib.request.Request(url, data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=2, context=context) as response:
        return bool(response.status == 200)


def agent_toml(agent: KeaAgent, workdir: Path) -> list[str]:
    """A [[servers]] entry's lines reaching ``agent``: its URL, and its user with the
    password in a file under ``workdir`` (0600), as a real install keeps it."""
    lines = [f"control_url = {_toml(agent.url)}"]
    if agent.username is not None:
        password_file = workdir / "kea-agent.password"
        password_file.write_text((agent.password or "") + "\n", encoding="utf-8")
        password_file.chmod(0o600)
        lines.append(f"username = {_toml(agent.username)}")
        lines.append(f"password_file = {_toml(str(password_file))}")
    return lines


def wait_for_lfc(server: KeaServer, timeout: float = 10.0) -> None:
    """Wait until Kea's Lease File Cleanup has run (``<leases>.2`` appears or changes).

    Kea 2.2 has no command to start LFC: the server runs kea-lfc every lfc-interval seconds,
    so a lab that wants it starts Kea with ``lfc_interval=1`` and waits here.
    """
    previous = Path(f"{server.leases_file}.2")
    before = previous.stat().st_mtime_ns if previous.exists() else None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # kea-lfc renames .completed to .2 last: a new .2 and no .completed means it is done.
        changed = previous.exists() and previous.stat().st_mtime_ns != before
        if changed and not Path(f"{server.leases_file}.completed").exists():
            return
        time.sleep(0.1)
    raise KeaLabError(f"no lease file cleanup within {timeout}s (lfc-interval > 0?)")


def write_fixture(dest: Path, work: Path) -> None:
    """Let a real kea-dhcp4 write a memfile with every row kind, then copy it to ``dest``.

    The result (``kea-leases4.csv`` and ``kea-leases4.csv.2``) covers: active leases, a
    declined one, an expired-reclaimed one, a hostname with a comma (Kea escapes it), a lease
    re-assigned to another MAC after LFC, and a lease deleted after LFC (a row with
    valid_lifetime 0 in the newer file for an address only the older file has).
    """
    with running_kea(work, lfc_interval=1) as kea:
        kea.add_lease("198.18.1.10", "52:54:00:00:01:10", hostname="vm-a")
        kea.add_lease("198.18.1.11", "52:54:00:00:01:11", hostname="vm-b")
        kea.add_lease("198.18.1.12", "52:54:00:00:01:12", hostname="web,frontend")
        kea.add_lease("198.18.2.3", "52:54:00:00:02:03", state=1)  # declined
        kea.add_lease("198.18.3.100", "52:54:00:00:03:64", hostname="vm-c")
        kea.add_lease("198.18.3.101", "52:54:00:00:03:65", **{"valid-lft": 1})
        time.sleep(1.5)
        answer = kea.command("leases-reclaim", {"remove": False})
        if answer["result"] != 0:
            raise KeaLabError(f"leases-reclaim: {answer['text']}")
        wait_for_lfc(kea)
        # After the cleanup: changes land in the fresh kea-leases4.csv only.
        update = {"ip-address": "198.18.1.11", "hw-address": "52:54:00:00:01:99"}
        if kea.command("lease4-update", {**update, "hostname": "vm-b2"})["result"] != 0:
            raise KeaLabError("lease4-update failed")
        if kea.command("lease4-del", {"ip-address": "198.18.3.100"})["result"] != 0:
            raise KeaLabError("lease4-del failed")
        kea.add_lease("198.18.1.13", "52:54:00:00:01:13", hostname="vm-d")
        leases = kea.command("lease4-get-all")["arguments"]["leases"]
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("kea-leases4.csv", "kea-leases4.csv.2"):
        (dest / name).write_bytes((work / name).read_bytes())
    (dest / "api-leases.json").write_text(json.dumps(leases, indent=1, sort_keys=True) + "\n")


# --------------------------------------------------------------------------- the VM lab


class KeaLab(ServerLab):
    """kea-dhcp4 in its own namespace serving the seed's network to a hypervisor of VMs.

    The same plan as ``lab.isc.IscLab`` (``Layout.seed``: a /27 with a 21-address pool,
    three-day leases), so the story reads the same on both servers. Kea listens only on the
    veth end in its namespace; its control socket is a file in the lab's directory, which a
    process in the host namespace reaches directly (a UNIX socket is not bound to a network
    namespace). With ``agent=True`` a kea-ctrl-agent runs in the host namespace on
    127.0.0.1:<free port>, in front of that socket. ``close()`` (or ``with``) removes it all.
    """

    def __init__(self, layout: Layout) -> None:
        super().__init__()
        self.layout = layout
        self.server: KeaServer | None = None
        self.agent: KeaAgent | None = None
        self._stack = contextlib.ExitStack()

    @classmethod
    def start(
        cls,
        pool_size: int = 21,
        base: str = "198.18.1.192",
        *,
        agent: bool = False,
        username: str | None = None,
        password: str | None = None,
        valid_lifetime: int = 259200,
    ) -> KeaLab:
        """Build the namespaces, start Kea (and the agent); wait until it answers."""
        lab = cls(Layout.seed(pool_size, base))
        return lab._built(lambda: lab._build(agent, username, password, valid_lifetime))

    def _build(
        self, agent: bool, username: str | None, password: str | None, valid_lifetime: int
    ) -> None:
        layout = self.layout
        hv = self._network()
        iface = hv.server_iface
        add_address(hv.server_ns, iface, f"{layout.server_ip}/{layout.subnet.prefixlen}")
        net = layout.subnet
        subnets = {
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
        self.server = self._stack.enter_context(
            running_kea(
                self.workdir / "kea",
                interfaces=[iface],
                subnets=subnets,
                valid_lifetime=valid_lifetime,
                ns=hv.server_ns,
            )
        )
        if agent:
            self.agent = self._stack.enter_context(
                running_agent(self.server, username=username, password=password)
            )

    @property
    def kea(self) -> KeaServer:
        assert self.server is not None
        return self.server

    @property
    def socket_path(self) -> Path:
        return self.kea.socket_path

    @property
    def leases_path(self) -> Path:
        return self.kea.leases_file

    @property
    def log_path(self) -> Path:
        return self.kea.log_path

    # What Kea logs when it has no address for a client (dhcpd says "no free leases").
    NO_ADDRESS_LOG = "ALLOC_ENGINE_V4_ALLOC_FAIL_SUBNET"

    def leasewatch_toml(
        self,
        state: Path,
        inventory: Sequence[str] | None = None,
        reaper: str = 'grace = "0s"',
        server_name: str = "lab-kea",
        page_size: int = 1000,
    ) -> str:
        """A leasewatch config for this lab (as ``IscLab.leasewatch_toml``): Kea by its
        control socket (or the agent, with its password in a file), the hypervisor's VMs."""
        argv = list(inventory) if inventory is not None else self.inventory_argv()
        server = [
            "[[servers]]",
            f"name = {_toml(server_name)}",
            'kind = "kea"',
            f"page_size = {page_size}",
            "timeout = 5",
        ]
        if self.agent is None:
            server.append(f"control_socket = {_toml(str(self.socket_path))}")
        else:
            server += agent_toml(self.agent, self.workdir)
        return "\n".join(
            [
                *server,
                "",
                *common_sections(argv, reaper, state),
            ]
        )

    def _stop_servers(self) -> None:
        """Stop the agent, then Kea (the VMs and namespaces go after, in ``ServerLab``)."""
        self._stack.close()


if __name__ == "__main__":
    import sys
    import tempfile

    if len(sys.argv) != 3 or sys.argv[1] != "fixture":
        sys.exit("usage: python -m lab.kea fixture DEST_DIR")
    with tempfile.TemporaryDirectory(prefix="leasewatch-kea-") as tmp:
        write_fixture(Path(sys.argv[2]), Path(tmp))
