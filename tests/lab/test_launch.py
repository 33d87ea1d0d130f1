"""The lab's one launcher: readiness waits, failures that name the server, nothing left."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from lab.dnsmasq import DnsmasqLab
from lab.isc import FixedHost, IscLab
from lab.launch import launch, log_line, pid_file, probe, tcp_port, unix_socket, with_mounts
from lab.netns import CLEANUP, NETNS_DIR, LabError, Namespace, new_tag

pytestmark = pytest.mark.lab

# A stand-in server: writes its pid file, says hello, listens on a UNIX socket and a TCP port
# (inside the namespace), ignores SIGTERM when asked to; only Python's standard library.
SERVER = """
import os, signal, socket, sys, time
work, port, stubborn = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
if stubborn:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("hello from the stand-in", flush=True)
unix = socket.socket(socket.AF_UNIX)
unix.bind(os.path.join(work, "sock"))
unix.listen()
tcp = socket.create_server(("127.0.0.1", port))
with open(os.path.join(work, "pid"), "w") as f:
    f.write(str(os.getpid()))
print("serving", flush=True)
time.sleep(600)
"""


@pytest.fixture
def ns() -> Iterator[Namespace]:
    """A namespace of the test's own, deleted afterwards."""
    space = Namespace.create(f"lw-{new_tag()}-t")
    try:
        yield space
    finally:
        space.delete()


def _server(tmp_path: Path, stubborn: bool = False) -> list[str]:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    return [sys.executable, str(script), str(tmp_path), "7999", "1" if stubborn else "0"]


def test_ready_once_every_check_holds_and_stop_removes_its_files(
    ns: Namespace, tmp_path: Path
) -> None:
    """pid file, socket, TCP port in the namespace and log line all hold; stop leaves nothing."""
    log = tmp_path / "server.log"
    daemon = launch(
        "stand-in",
        _server(tmp_path),
        ns=ns,
        log=log,
        ready=[
            pid_file(tmp_path / "pid"),
            unix_socket(tmp_path / "sock"),
            tcp_port(7999, ns),
            log_line("serving", log),
            probe("a probe", lambda: True),
        ],
        files=[tmp_path / "pid", tmp_path / "sock"],
    )
    with daemon:
        assert daemon.running and ns.pids() == [daemon.pid]
        assert int((tmp_path / "pid").read_text()) == daemon.pid
    assert daemon.proc.poll() is not None and ns.pids() == []
    assert not (tmp_path / "pid").exists() and not (tmp_path / "sock").exists()


def test_a_server_never_ready_is_stopped_and_named_with_its_log(
    ns: Namespace, tmp_path: Path
) -> None:
    """A readiness wait that runs out stops the server, removes its files and quotes its log."""
    before = len(CLEANUP)
    with pytest.raises(LabError) as caught:
        launch(
            "stand-in",
            _server(tmp_path),
            ns=ns,
            log=tmp_path / "server.log",
            ready=[log_line("never said", tmp_path / "server.log")],
            timeout=1.0,
            files=[tmp_path / "pid", tmp_path / "sock"],
        )
    message = str(caught.value)
    assert message.startswith("stand-in not ready after 1.0s (waiting for 'never said' in")
    assert "hello from the stand-in" in message
    assert ns.pids() == []
    assert not (tmp_path / "pid").exists() and not (tmp_path / "sock").exists()
    assert len(CLEANUP) == before


def test_a_server_that_exits_is_named_with_its_exit_status_and_log(tmp_path: Path) -> None:
    """A server that exits before it is ready: its name, its status, the tail of its log."""
    with pytest.raises(LabError, match=r"(?s)^broken exited 3 before it was ready:\n.*line 7") as e:
        launch(
            "broken",
            ["sh", "-c", "echo 'config line 7: expected a word' >&2; exit 3"],
            log=tmp_path / "broken.log",
            ready=[pid_file(tmp_path / "never.pid")],
        )
    assert "expected a word" in str(e.value)


def test_stop_kills_a_server_that_ignores_sigterm(ns: Namespace, tmp_path: Path) -> None:
    """A server that ignores SIGTERM is killed (SIGKILL) once the stop bound runs out."""
    daemon = launch(
        "stubborn",
        _server(tmp_path, stubborn=True),
        ns=ns,
        log=tmp_path / "server.log",
        ready=[pid_file(tmp_path / "pid")],
        stop_timeout=0.5,
    )
    daemon.stop()
    assert daemon.proc.returncode == -signal.SIGKILL
    assert ns.pids() == []


def test_with_mounts_binds_and_sets_the_environment(tmp_path: Path) -> None:
    """The wrapped program sees our directory on the mount point and the variables set."""
    (tmp_path / "mine").write_text("ours\n")
    log = tmp_path / "out.log"
    argv = with_mounts(["sh", "-c", 'cat /mnt/mine; echo "$GREETING"; exec sleep 60'],
                       [(tmp_path, "/mnt")], GREETING="hello there")  # fmt: skip
    with launch("mounted", argv, log=log, ready=[log_line("hello there", log)]):
        assert log.read_text() == "ours\nhello there\n"
    assert not (Path("/mnt") / "mine").exists()


def _ours() -> tuple[set[str], set[str]]:
    """This process's namespaces and temp dirs (tags start with 3 hex digits of our pid)."""
    mine = f"{os.getpid() % 0x1000:03x}"
    names = {p.name for p in NETNS_DIR.iterdir()} if NETNS_DIR.exists() else set()
    dirs = {p.name for p in Path("/tmp").iterdir() if p.name.startswith(("lw-", "lwv-"))}
    return {n for n in names if n.startswith(f"lw-{mine}")}, {
        d for d in dirs if d.split("-")[1].startswith(mine)
    }


@pytest.mark.parametrize("server", ["dhcpd", "dnsmasq"])
def test_a_lab_whose_server_fails_leaves_no_process_namespace_or_file(server: str) -> None:
    """A real server that fails to start: the lab's namespaces, processes and files are gone."""
    before, pending = _ours(), len(CLEANUP)
    with pytest.raises(LabError) as caught:
        if server == "dhcpd":
            IscLab.start(hosts=[FixedHost("bad", "52:54:00:zz:00:01", IPv4Address("198.18.1.194"))])
        else:
            DnsmasqLab.start(extra=["no-such-option"])
    assert str(caught.value).startswith(f"{server} exited")
    assert _ours() == before
    assert len(CLEANUP) == pending
