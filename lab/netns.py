"""Network namespaces, links and a cleanup registry for the lab.

API (shared with the Kea lab, ``lab/kea.py``):

- ``new_tag()`` -> a 6-character tag unique per run (3 hex of the pid + 3 random hex);
  interface names are ``lw<tag><suffix>`` (suffix <= 7 chars, Linux allows 15).
- ``Namespace.create(name)`` / ``ns.delete()``: a network namespace with ``lo`` up;
  ``ns.run(*argv)`` runs a command inside it, ``ns.popen(argv, log)`` starts a long-running
  one (its pid is the real program's: ``ip netns exec`` execs), ``ns.delete()`` kills every
  process still inside, then removes it.
- ``veth(a, a_name, b, b_name)``, ``macvlan(ns, name, parent, mac)``, ``add_address``,
  ``delete_link``, ``random_mac()`` (locally administered, unicast).
- ``LoopbackForwarder(ns, port)``: host ``127.0.0.1:<free port>`` -> ``127.0.0.1:port``
  inside ``ns``, so a client in the host namespace (leasewatch, its CLI) reaches a server
  that listens only inside the namespace.
- ``CLEANUP``: every namespace, process and forwarder registers its undo here when created
  and removes it when closed normally; ``CLEANUP.run_all()`` undoes what is left (LIFO).
  ``install_exit_handlers()`` runs it at exit and on SIGINT/SIGTERM (the demo); test
  fixtures close their lab in ``finally`` and the registry is the backstop.

Every link is created *inside* a namespace we made (``ip -n``): nothing is ever added to,
moved out of or configured on the host's own network namespace.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import itertools
import os
import secrets
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import IO

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")


class LabError(RuntimeError):
    """The lab could not be built (a command failed, a server did not start)."""


# --------------------------------------------------------------------------- cleanup


class Cleanup:
    """A LIFO registry of undo actions; each runs at most once, errors never propagate."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._actions: dict[int, tuple[str, Callable[[], None]]] = {}
        self._ids = itertools.count(1)
        # every push ever made: the lab fixtures compare it before and after a test to
        # check that a test which started a server carries the ``lab`` marker
        self.pushes = 0

    def push(self, what: str, action: Callable[[], None]) -> int:
        """Register ``action``; returns a token for ``run``/``discard``."""
        with self._lock:
            self.pushes += 1
            token = next(self._ids)
            self._actions[token] = (what, action)
            return token

    def discard(self, token: int) -> None:
        """Forget an action without running it (the resource was closed normally)."""
        with self._lock:
            self._actions.pop(token, None)

    def run(self, token: int) -> None:
        """Run one action now (and forget it)."""
        with self._lock:
            entry = self._actions.pop(token, None)
        if entry is not None:
            _quietly(*entry)

    def run_all(self) -> None:
        """Undo everything still registered, newest first."""
        while True:
            with self._lock:
                if not self._actions:
                    return
                token = max(self._actions)
                entry = self._actions.pop(token)
            _quietly(*entry)

    def __len__(self) -> int:
        return len(self._actions)


def _quietly(what: str, action: Callable[[], None]) -> None:
    try:
        action()
    except Exception as exc:  # cleanup must go on with the next resource
        print(f"lab cleanup: {what}: {exc}", file=sys.stderr)


CLEANUP = Cleanup()
_handlers_installed = False


def install_exit_handlers() -> None:
    """Undo the lab at interpreter exit and on SIGINT/SIGTERM (used by the demo)."""
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(CLEANUP.run_all)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        CLEANUP.run_all()
        # 128 + signal number, as a shell reports a process killed by that signal.
        os._exit(128 + signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)


# --------------------------------------------------------------------------- names


_counter = itertools.count()
_process_salt = secrets.randbelow(0x1000)


def new_tag() -> str:
    """Six hex characters unique per lab: 3 from the pid, 3 random (salted per process)."""
    while True:
        tag = f"{os.getpid() % 0x1000:03x}{(_process_salt + next(_counter) * 0x9E5) % 0x1000:03x}"
        if not any(p.name.startswith(f"lw-{tag}") for p in _list_netns()):
            return tag


def _list_netns() -> list[Path]:
    try:
        return list(NETNS_DIR.iterdir())
    except FileNotFoundError:
        return []


def lab_dir(tag: str, prefix: str = "lw") -> tuple[Path, int]:
    """A temp dir ``/tmp/<prefix>-<tag>-*`` for one lab, and its ``CLEANUP`` token (run the
    token to remove it)."""
    path = Path(tempfile.mkdtemp(prefix=f"{prefix}-{tag}-"))
    return path, CLEANUP.push(f"directory {path}", lambda: shutil.rmtree(path, True))


def random_mac() -> str:
    """A random unicast, locally administered MAC (as a hypervisor gives a cloned VM)."""
    octets = bytearray(secrets.token_bytes(6))
    octets[0] = (octets[0] & 0xFC) | 0x02
    return ":".join(f"{b:02x}" for b in octets)


# --------------------------------------------------------------------------- commands


def sh(*argv: str, timeout: float = 30.0) -> str:
    """Run a command (``ip ...``), return stdout; a failure raises LabError with stderr."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError(f"{' '.join(argv)}: {exc}") from exc
    if done.returncode != 0:
        raise LabError(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.strip()}")
    return done.stdout


class Namespace:
    """A network namespace this lab created (never the host's)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._token: int | None = None
        self._procs: list[subprocess.Popen[bytes]] = []

    @classmethod
    def create(cls, name: str) -> Namespace:
        """``ip netns add`` and bring ``lo`` up; registered for cleanup."""
        ns = cls(name)
        sh("ip", "netns", "add", name)
        ns._token = CLEANUP.push(f"namespace {name}", ns._remove)
        sh("ip", "-n", name, "link", "set", "lo", "up")
        return ns

    @property
    def path(self) -> Path:
        return NETNS_DIR / self.name

    def exec_argv(self, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, *argv: str, timeout: float = 30.0) -> str:
        """Run a command inside the namespace; return its stdout."""
        return sh(*self.exec_argv(argv), timeout=timeout)

    def ip(self, *args: str) -> str:
        """``ip -n <ns> ...``."""
        return sh("ip", "-n", self.name, *args)

    def popen(
        self, argv: Sequence[str], log: Path | None = None, env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start a long-running program inside the namespace (stdout+stderr to ``log``).

        ``ip netns exec`` execs the program, so ``proc.pid`` is the program's own pid.
        """
        proc = spawn(self.exec_argv(argv), log, env)
        self._procs.append(proc)
        return proc

    def pids(self) -> list[int]:
        """Every process whose network namespace is this one."""
        try:
            out = sh("ip", "netns", "pids", self.name)
        except LabError:
            return []
        return [int(p) for p in out.split()]

    def delete(self) -> None:
        """Kill whatever still runs inside, then remove the namespace."""
        if self._token is not None:
            CLEANUP.run(self._token)
            self._token = None

    def _remove(self) -> None:
        for proc in self._procs:
            stop_process(proc, signal.SIGKILL)
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.path.exists():
            sh("ip", "netns", "delete", self.name)

    def __repr__(self) -> str:
        return f"Namespace({self.name!r})"


def spawn(
    argv: Sequence[str], log: Path | None = None, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a long-running program, stdout+stderr appended to ``log`` (or dropped)."""
    out: IO[bytes] | int = subprocess.DEVNULL
    if log is not None:
        out = log.open("ab")
    try:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=None if env is None else dict(env),
            # Own process group: a Ctrl-C in the terminal reaches only us, and our
            # handler decides the order of teardown.
            start_new_session=True,
        )
    finally:
        if not isinstance(out, int):
            out.close()


def stop_process(
    proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 5.0
) -> None:
    """Send ``sig`` and reap the process (SIGKILL after ``timeout`` seconds)."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


# --------------------------------------------------------------------------- links


def veth(a: Namespace, a_name: str, b: Namespace, b_name: str) -> None:
    """A veth pair with one end in each namespace, both up (created inside ``a``)."""
    a.ip("link", "add", a_name, "type", "veth", "peer", "name", b_name, "netns", b.name)
    a.ip("link", "set", a_name, "up")
    b.ip("link", "set", b_name, "up")


def macvlan(ns: Namespace, name: str, parent: str, mac: str) -> None:
    """A macvlan (bridge mode: siblings see each other's broadcasts) on ``parent``, up."""
    ns.ip("link", "add", name, "link", parent, "address", mac, "type", "macvlan", "mode", "bridge")
    ns.ip("link", "set", name, "up")


def add_address(ns: Namespace, iface: str, cidr: str) -> None:
    """Put an address (``198.18.x.y/nn``) on an interface inside ``ns``."""
    ns.ip("addr", "add", cidr, "dev", iface)


def delete_link(ns: Namespace, name: str) -> None:
    """Remove a link inside ``ns`` (a missing link is fine: already gone)."""
    with contextlib.suppress(LabError):
        ns.ip("link", "delete", name)


# --------------------------------------------------------------------------- setns


_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def enter_namespace_thread(ns: Namespace) -> None:
    """Move the *calling thread* into ``ns`` (setns(2) switches only the thread).

    Python 3.11 has no ``os.setns``; sockets created afterwards in this thread live in
    ``ns`` for good, even if the thread later returns. Use only in a dedicated thread.
    """
    fd = os.open(ns.path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise LabError(f"setns({ns.name}): {os.strerror(err)}")
    finally:
        os.close(fd)


def connect_in(
    ns: Namespace, port: int, host: str = "127.0.0.1", timeout: float = 5.0
) -> socket.socket:
    """A TCP connection made from inside ``ns`` (in a short-lived helper thread)."""
    result: list[socket.socket | BaseException] = []

    def work() -> None:
        try:
            enter_namespace_thread(ns)
            result.append(socket.create_connection((host, port), timeout=timeout))
        except BaseException as exc:  # handed to the caller's thread
            result.append(exc)

    thread = threading.Thread(target=work, name=f"connect-{ns.name}", daemon=True)
    thread.start()
    thread.join()
    got = result[0]
    if isinstance(got, BaseException):
        raise got
    return got


class LoopbackForwarder:
    """Host ``127.0.0.1:<free port>`` -> ``host:port`` inside a namespace.

    Why: the DHCP server's control channel (dhcpd's OMAPI, Kea's control agent) listens
    only inside its namespace, while leasewatch runs in the host namespace, as it would on
    an operator's machine. A thread per connection dials from inside the namespace
    (``connect_in``) and copies bytes both ways; traffic never leaves loopback.
    """

    def __init__(self, ns: Namespace, port: int, host: str = "127.0.0.1") -> None:
        self.ns = ns
        self.target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.accepted = 0  # connections taken so far: tests check "no OMAPI connection"
        self._thread = threading.Thread(target=self._accept_loop, name="lab-forwarder", daemon=True)
        self._token = CLEANUP.push(f"forwarder :{self.port}", self._shutdown)
        self._thread.start()

    def _accept_loop(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self._listener, selectors.EVENT_READ)
        while not self._stop.is_set():
            if not sel.select(timeout=0.5):
                continue
            try:
                client, _ = self._listener.accept()
            except OSError:
                break
            self.accepted += 1
            threading.Thread(target=self._pipe, args=(client,), daemon=True).start()
        sel.close()

    def _pipe(self, client: socket.socket) -> None:
        try:
            upstream = connect_in(self.ns, self.target[1], self.target[0])
        except OSError:
            client.close()  # the client sees the refusal as a closed connection
            return
        with self._lock:
            self._conns.update((client, upstream))
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ, upstream)
        sel.register(upstream, selectors.EVENT_READ, client)
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(timeout=0.5):
                    src = key.fileobj
                    assert isinstance(src, socket.socket)
                    data = src.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
        except (OSError, ValueError):  # ValueError: a socket closed under select()
            return
        finally:
            sel.close()
            for s in (client, upstream):
                s.close()
            with self._lock:
                self._conns.difference_update((client, upstream))

    def _shutdown(self) -> None:
        self._stop.set()
        # Join before closing: a select() on a closed listener raises in the thread.
        self._thread.join(timeout=2)
        self._listener.close()
        with self._lock:
            for s in list(self._conns):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        CLEANUP.run(self._token)
