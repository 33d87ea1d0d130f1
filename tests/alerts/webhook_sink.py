"""A real HTTP webhook receiver on loopback that records POSTs and answers from a script."""

from __future__ import annotations

import contextlib
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Received:
    """One request the sink received."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Sink:
    """An HTTP server on 127.0.0.1 that records POSTs and answers from a script per path."""

    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    scripts: dict[str, list[tuple[int, dict[str, str], bytes]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    scheme: str = "http"

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def script(self, path: str, *answers: tuple[int, dict[str, str], bytes]) -> None:
        """Answer the next POSTs to ``path`` with these (status, headers, body), then 200."""
        self.scripts[path] = list(answers)

    def posts(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]


class _Server(ThreadingHTTPServer):
    """The HTTP server, holding the sink its handler records into."""

    daemon_threads = True
    sink: Sink


class Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        sink = self.server.sink
        with sink.lock:
            sink.received.append(Received(self.path, dict(self.headers.items()), body))
            answers = sink.scripts.get(self.path) or []
            status, headers, text = answers.pop(0) if answers else (200, {}, b"ok")
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""


@contextlib.contextmanager
def running_sink(tls: tuple[Path, Path] | None = None) -> Iterator[Sink]:
    """A webhook receiver on a free loopback port, shut down on exit; with ``tls`` (a
    certificate and its key) it speaks HTTPS."""
    server = _Server(("127.0.0.1", 0), Handler)
    sink = Sink(server)
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        sink.scheme = "https"
    server.sink = sink
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
