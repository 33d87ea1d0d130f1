"""A loopback HTTP server answering as Kea releases this machine cannot run (2.6, 3.0).

Debian bookworm ships Kea 2.2 only, so the answers of later releases are pinned here from
Kea's own sources and ARM (isc-projects/kea, tags Kea-2.6.3 and Kea-3.0.0), each with the
release and the file it comes from:

- Every HTTP answer to a command is a one-element JSON list: the Control Agent's framing
  (2.6 kea-ctrl-agent, ``ctrl_agent_response_creator.cc``), kept by kea-dhcp4's own HTTP
  socket "for backward compatibility" (3.0 ``http_command_response_creator.cc``,
  ``emulate_agent_response_`` true by default; ARM 3.0 "HTTP Command Response Format").
- The request may carry ``"service"``: the agent needs ``["dhcp4"]``; 3.0's
  ``parseCommand`` (``command_interpreter.cc``) accepts the key and refuses any other
  unknown top-level key with "invalid command: unsupported parameter".
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
from typing import Any

# Kea 3.0 parseCommand: the only top-level keys a command may have.
_COMMAND_KEYS = {"command", "arguments", "service", "remote-address"}


@dataclass
class FakeKea:
    """What the fake answers (``release`` says which Kea it plays) and what it was sent."""

    release: str  # "2.6-agent" | "3.0-dhcp4"
    dhcp4: dict[str, Any]
    leases: list[dict[str, Any]]
    user: str | None = None
    password: str | None = None
    forbidden: frozenset[str] = frozenset()
    wrap_in_list: bool = True  # 3.0 with agent emulation off answers a bare map
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        """Kea's answer map to one command (before the HTTP framing)."""
        unknown = set(body) - _COMMAND_KEYS
        if unknown:
            key = sorted(unknown)[0]
            return {"result": 1, "text": f"invalid command: unsupported parameter '{key}'"}
        if self.release == "2.6-agent" and body.get("service") != ["dhcp4"]:
            # the agent runs commands without a service itself, and knows none of these
            return {"result": 2, "text": f"'{body['command']}' command not supported."}
        command = body["command"]
        if command == "config-get":
            return {"result": 0, "arguments": {"Dhcp4": self.dhcp4}}
        if command == "lease4-get-page":
            args = body.get("arguments", {})
            start = args.get("from", "start")
            ordered = sorted(self.leases, key=lambda x: _ip_key(x["ip-address"]))
            if start != "start":
                ordered = [x for x in ordered if _ip_key(x["ip-address"]) > _ip_key(start)]
            page = ordered[: int(args.get("limit", 1000))]
            if not page:
                return {"result": 3, "text": "0 IPv4 lease(s) found.", "arguments": {}}
            return {
                "result": 0,
                "text": f"{len(page)} IPv4 lease(s) found.",
                "arguments": {"leases": page, "count": len(page)},
            }
        return {"result": 2, "text": f"'{command}' command not supported."}


def _ip_key(text: Any) -> tuple[int, ...]:
    return tuple(int(part) for part in str(text).split("."))


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
