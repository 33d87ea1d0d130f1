"""A loopback HTTP server answering as Kea releases this machine cannot run (2.6, 3.0).

Debian bookworm ships Kea 2.2 only, so the answers of later releases are pinned here from
Kea's own sources and ARM (isc-projects/kea, tags Kea-2.6.3 and Kea-3.0.0), each with the
release and the file it comes from:

- Every HTTP answer to a command is a one-element JSON list: the Control Agent's framing
  (2.6 kea-ctrl-agent, ``ctrl_agent_response_creator.cc``), kept by kea-dhcp4's own HTTP
  socket "for backward compatibility" (3.0 ``http_command_response_creator.cc``,
  ``emulate_agent_response_`` true by default; ARM 3.0 "HTTP Command Response Format").
- The request may carry ``"service"``: the agent needs ``["dhcp4"]`` or ``["dhcp6"]`` to
  forward, runs a command without one itself (its ``config-get`` answers its own
  ``Control-agent`` map, ``control-sockets`` naming the daemons), and answers result 1
  "forwarding socket is not configured for the server type dhcp6" for a service it has no
  socket for (2.6 ``ca_command_mgr.cc`` ``handleCommandInternal``/``forwardCommand``; the
  same measured on the live 2.2 agent). 3.0's ``parseCommand`` (``command_interpreter.cc``)
  accepts the key and refuses any other unknown top-level key with "invalid command:
  unsupported parameter"; 3.0's daemon ignores the service it names.
- kea-dhcp6's own HTTP socket (3.0) answers as kea-dhcp4's: the same
  ``http_command_response_creator.cc`` serves both daemons (``Dhcp6`` in ``config-get``).
- lease_cmds' answers (``lease_cmds.cc``, alike in 2.2 through 3.0): ``leaseN-get-page``
  "N IPv4/IPv6 lease(s) found." with result 3 for an empty page; ``leaseN-get`` "Lease not
  found." (3); ``leaseN-del`` "IPv6 lease deleted." (0) or "IPv6 lease not found." (3).
  Lease entries as ``Lease6::toElement`` writes them (``type``, ``duid``, ``iaid``,
  ``prefix-len``, ``hw-address``).
- Basic authentication failing: HTTP 401 with the bare map ``{"result": 401, "text":
  "Unauthorized"}`` (``BasicHttpAuthConfig::checkAuth`` + ``HttpResponseJson::
  setGenericBody``, the same in 2.6.3 and 3.0.0) and a ``WWW-Authenticate`` header.
- A command refused by the role-based access control hook: HTTP 403 with ``{"result": 403,
  "text": "Forbidden"}`` (ARM 3.0 ctrl-channel.rst; ``cmd_response_creator_unittests.cc``).
- Lease entries as ``Lease4::toElement`` writes them in 3.0 (``lease.cc``: ``pool-id`` when
  set, ``state`` 3 = released, new in 3.0 ``lease.h``).
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from typing import Any

# Kea 3.0 parseCommand: the only top-level keys a command may have.
_COMMAND_KEYS = {"command", "arguments", "service", "remote-address"}


@dataclass
class FakeKea:
    """What the fake answers (``release`` says which Kea it plays) and what it was sent.

    "2.6-agent" is kea-ctrl-agent with control sockets for ``sockets``; "3.0-dhcp4" and
    "3.0-dhcp6" are that daemon's own HTTP control socket. ``dhcp6`` and ``leases6`` are what
    kea-dhcp6 holds, ``dhcp4`` and ``leases`` kea-dhcp4's.
    """

    release: str  # "2.6-agent" | "3.0-dhcp4" | "3.0-dhcp6"
    dhcp4: dict[str, Any]
    leases: list[dict[str, Any]]
    user: str | None = None
    password: str | None = None
    forbidden: frozenset[str] = frozenset()
    wrap_in_list: bool = True  # 3.0 with agent emulation off answers a bare map
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    dhcp6: dict[str, Any] = field(default_factory=dict)
    leases6: list[dict[str, Any]] = field(default_factory=list)
    sockets: tuple[str, ...] = ("dhcp4",)  # the agent's control-sockets

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        """Kea's answer map to one command (before the HTTP framing)."""
        unknown = set(body) - _COMMAND_KEYS
        if unknown:
            key = sorted(unknown)[0]
            return {"result": 1, "text": f"invalid command: unsupported parameter '{key}'"}
        if self.release == "2.6-agent":
            return self._agent(body)
        # 3.0 ignores "service" (later releases check it names the daemon itself)
        return self._daemon(self.release.removeprefix("3.0-"), body)

    def _agent(self, body: dict[str, Any]) -> dict[str, Any]:
        """kea-ctrl-agent (ca_command_mgr.cc): no service, it runs the command itself and
        knows config-get (its own config) only, of what leasewatch sends; a service it has no
        control socket for is result 1."""
        services = body.get("service") or []
        if not services:
            if body["command"] == "config-get":
                sockets = {
                    name: {"socket-type": "unix", "socket-name": f"/run/kea/kea-{name}.sock"}
                    for name in self.sockets
                }
                agent = {"http-host": "127.0.0.1", "control-sockets": sockets}
                return {"result": 0, "arguments": {"Control-agent": agent}}
            return {"result": 2, "text": f"'{body['command']}' command not supported."}
        (service,) = services
        if service not in self.sockets:
            text = f"forwarding socket is not configured for the server type {service}"
            return {"result": 1, "text": text}
        return self._daemon(service, body)

    def _daemon(self, service: str, body: dict[str, Any]) -> dict[str, Any]:
        """kea-dhcp4 or kea-dhcp6 with lease_cmds (lease_cmds.cc's answers and texts)."""
        family = "4" if service == "dhcp4" else "6"
        leases = self.leases if family == "4" else self.leases6
        command = body["command"]
        args = body.get("arguments", {})
        if command == "config-get":
            key, config = ("Dhcp4", self.dhcp4) if family == "4" else ("Dhcp6", self.dhcp6)
            return {"result": 0, "arguments": {key: config}}
        if command == f"lease{family}-get-page":
            start = args.get("from", "start")
            ordered = sorted(leases, key=lambda x: int(ip_address(x["ip-address"])))
            if start != "start":
                after = int(ip_address(start))
                ordered = [x for x in ordered if int(ip_address(x["ip-address"])) > after]
            page = ordered[: int(args.get("limit", 1000))]
            found = f"{len(page)} IPv{family} lease(s) found."
            if not page:
                return {"result": 3, "text": found, "arguments": {"leases": [], "count": 0}}
            return {"result": 0, "text": found, "arguments": {"leases": page, "count": len(page)}}
        if command in (f"lease{family}-get", f"lease{family}-del"):
            match = [x for x in leases if _same_lease(x, args)]
            if command.endswith("-get"):
                if not match:
                    return {"result": 3, "text": "Lease not found."}
                return {"result": 0, "text": f"IPv{family} lease found.", "arguments": match[0]}
            if not match:
                return {"result": 3, "text": f"IPv{family} lease not found."}
            leases.remove(match[0])
            return {"result": 0, "text": f"IPv{family} lease deleted."}
        return {"result": 2, "text": f"'{command}' command not supported."}


def _same_lease(lease: dict[str, Any], key: dict[str, Any]) -> bool:
    """Whether ``key`` (``ip-address``, and ``type`` for v6, default IA_NA) names ``lease``."""
    if ip_address(lease["ip-address"]) != ip_address(key["ip-address"]):
        return False
    return ":" not in lease["ip-address"] or lease.get("type", "IA_NA") == key.get("type", "IA_NA")


class _Handler(BaseHTTPRequestHandler):
    fake: FakeKea

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read what matters from ``FakeKea.requests``."""

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        """One command: authentication, then authorization, then the answer."""
        fake = self.fake
        body: dict[str, Any] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        fake.requests.append(body)
        if fake.user is not None:
            token = base64.b64encode(f"{fake.user}:{fake.password or ''}".encode()).decode()
            if self.headers.get("Authorization", "").strip() != f"Basic {token}":
                self._send(
                    401,
                    {"result": 401, "text": "Unauthorized"},
                    {"WWW-Authenticate": 'Basic realm="kea"'},
                )
                return
        if body.get("command") in fake.forbidden:
            self._send(403, {"result": 403, "text": "Forbidden"})
            return
        answer = fake.answer(body)
        self._send(200, [answer] if fake.wrap_in_list else answer)


@contextlib.contextmanager
def serving(fake: FakeKea) -> Iterator[FakeKea]:
    """Serve ``fake`` on 127.0.0.1:<free port> until the block ends."""
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
