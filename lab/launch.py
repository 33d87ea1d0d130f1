"""One way to run a lab server: start it, wait until it is ready, stop it, clean up.

``launch(name, argv, log=..., ns=..., ready=[...])`` starts ``argv`` (inside ``ns`` when
given, through ``ip netns exec``, which execs: the pid is the program's own), its stdout and
stderr appended to ``log``, and waits until every readiness check holds: ``pid_file``,
``unix_socket``, ``tcp_port`` (dialled from inside the namespace), ``log_line`` or any
``probe`` (a callable that raises or returns False until the server answers). The wait is
bounded; a server that exits or is not ready in time is stopped, its ``files`` removed, and
a ``LabError`` names it, what it waited for and the tail of its log(s). The returned
``Daemon`` stops it (SIGTERM, SIGKILL after a bound) on ``stop()``, ``with`` or, as a
backstop, ``CLEANUP.run_all()``.

Why by hand and not mirakuru or pytest-xprocess: their readiness checks (TCP, UNIX socket,
HTTP, output) run in the caller's network namespace while ours listen inside a namespace of
the lab's, their output check reads a pipe (a lab server writes a log file we keep and
quote on failure), and pytest-xprocess keeps processes across test runs, which the lab must
never do. What remains is a loop of a few lines over ``subprocess``.
"""

from __future__ import annotations

import contextlib
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from lab.netns import CLEANUP, LabError, Namespace, connect_in, spawn, stop_process

STOP_TIMEOUT = 5.0  # seconds between SIGTERM and SIGKILL


@dataclass(frozen=True)
class Ready:
    """One readiness check: ``check()`` is true once the server is ready (``what`` says what
    it waits for, in the failure message)."""

    what: str
    check: Callable[[], bool]


def pid_file(path: Path) -> Ready:
    """Ready once ``path`` holds a pid."""

    def check() -> bool:
        try:
            return path.read_text().strip().isdigit()
        except FileNotFoundError:
            return False

    return Ready(f"pid file {path}", check)


def unix_socket(path: Path) -> Ready:
    """Ready once ``path`` exists (a UNIX socket the server creates when it listens)."""
    return Ready(f"socket {path}", path.exists)


def tcp_port(port: int, ns: Namespace | None = None, host: str = "127.0.0.1") -> Ready:
    """Ready once ``host:port`` accepts a connection (dialled from inside ``ns``)."""

    def check() -> bool:
        try:
            if ns is None:
                socket.create_connection((host, port), timeout=1).close()
            else:
                connect_in(ns, port, host, timeout=1).close()
        except OSError:
            return False
        return True

    where = f" in {ns.name}" if ns is not None else ""
    return Ready(f"TCP {host}:{port}{where}", check)


def log_line(text: str, path: Path) -> Ready:
    """Ready once ``path`` (a log) contains ``text``."""

    def check() -> bool:
        try:
            return text in path.read_text(errors="replace")
        except FileNotFoundError:
            return False

    return Ready(f"{text!r} in {path.name}", check)


def probe(what: str, call: Callable[[], object]) -> Ready:
    """Ready once ``call()`` returns without raising ``LabError``/``OSError`` (and not
    False): a client command the server must answer (``virsh list``, Kea's
    ``version-get``)."""

    def check() -> bool:
        try:
            return call() is not False
        except (LabError, OSError, ValueError):
            return False

    return Ready(what, check)


def tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a log, or "(no log)"."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class Daemon:
    """A started lab server; ``stop()`` (or ``with``) ends it and removes its files."""

    def __init__(
        self,
        name: str,
        proc: subprocess.Popen[bytes],
        log: Path,
        *,
        logs: Sequence[Path] = (),
        files: Sequence[Path] = (),
        stop_timeout: float = STOP_TIMEOUT,
    ) -> None:
        self.name = name
        self.stop_timeout = stop_timeout
        self.proc = proc
        self.log = log
        self.logs = tuple(logs)  # more logs worth quoting on failure (Kea's own log file)
        self.files = tuple(files)
        self._token = CLEANUP.push(f"{name} (pid {proc.pid})", self._stop)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        """The tail of the daemon's output and of every other log it names."""
        parts = [tail(self.log, lines)]
        parts += [f"--- {extra.name}\n{tail(extra, lines)}" for extra in self.logs]
        return "\n".join(parts)

    def wait_ready(self, ready: Iterable[Ready], timeout: float) -> None:
        """Until every check holds (bounded); a LabError when it exits or time runs out."""
        pending = list(ready)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise LabError(
                    f"{self.name} exited {self.proc.returncode} before it was ready:\n"
                    f"{self.log_tail()}"
                )
            pending = [r for r in pending if not r.check()]
            if not pending:
                return
            if time.monotonic() > deadline:
                waiting = ", ".join(r.what for r in pending)
                raise LabError(
                    f"{self.name} not ready after {timeout}s (waiting for {waiting}):\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Send ``sig`` (SIGKILL after ``stop_timeout``), reap it, remove its files."""
        self._stop(sig)
        CLEANUP.discard(self._token)

    def kill(self) -> None:
        """SIGKILL: no goodbye to its clients (its files are removed all the same)."""
        self.stop(signal.SIGKILL)

    def _stop(self, sig: int = signal.SIGTERM) -> None:
        stop_process(self.proc, sig, timeout=self.stop_timeout)
        for path in self.files:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def __enter__(self) -> Daemon:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Daemon({self.name!r}, pid={self.pid})"


def launch(
    name: str,
    argv: Sequence[str],
    *,
    log: Path,
    ns: Namespace | None = None,
    env: Mapping[str, str] | None = None,
    ready: Iterable[Ready] = (),
    timeout: float = 15.0,
    files: Sequence[Path] = (),
    logs: Sequence[Path] = (),
    stop_timeout: float = STOP_TIMEOUT,
) -> Daemon:
    """Start ``argv`` and wait until it is ready; on any failure it is stopped and gone.

    ``env`` replaces the environment (``None``: ours); ``files`` are removed when it stops
    (its pid file, its sockets); ``logs`` are quoted with ``log`` when it fails;
    ``stop_timeout``: seconds from SIGTERM to SIGKILL.
    """
    proc = ns.popen(argv, log=log, env=env) if ns is not None else spawn(argv, log, env)
    daemon = Daemon(name, proc, log, logs=logs, files=files, stop_timeout=stop_timeout)
    try:
        daemon.wait_ready(ready, timeout)
    except BaseException:
        daemon.stop()
        raise
    return daemon


def with_mounts(argv: Sequence[str], mounts: Sequence[tuple[Path, str]], **env: str) -> list[str]:
    """``argv`` in a private mount namespace (``unshare -m``) where each ``(ours, theirs)``
    is bind-mounted and ``env`` is set: a server whose paths are compiled in (libvirtd's
    /run, libvirt's lease helper's /var/lib) writes into the lab's directories, never the
    host's. ``sh`` execs the server at the end, so its pid is the one we started."""
    steps = [f"mount --bind {shlex.quote(str(a))} {shlex.quote(b)}" for a, b in mounts]
    assigns = [f"{key}={shlex.quote(value)}" for key, value in env.items()]
    steps.append(" ".join([*assigns, "exec", *map(shlex.quote, argv)]))
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", " && ".join(steps)]
