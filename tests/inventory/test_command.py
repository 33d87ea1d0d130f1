"""The command adapter: real processes, argv without a shell, timeouts that kill the group."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from leasewatch.config import InventoryConfig
from leasewatch.errors import InventoryError
from leasewatch.inventory.command import CommandSource


def _source(*argv: str, timeout: float = 10.0) -> CommandSource:
    return CommandSource(InventoryConfig(name="cmd", kind="command", command=argv, timeout=timeout))


def test_any_case_and_separator() -> None:
    """Upper/lower case, ``:``/``-``/``.`` separators, comments and blanks all read right."""
    out = "AA:BB:CC:00:11:22\naa-bb-cc-00-11-33\n\n  # a comment\naabb.cc00.1144 # web03\n"
    assert _source("printf", out).macs() == {
        "aa:bb:cc:00:11:22",
        "aa:bb:cc:00:11:33",
        "aa:bb:cc:00:11:44",
    }


def test_no_shell_is_involved() -> None:
    """Arguments are passed as they are: shell syntax in them is not run."""
    with pytest.raises(InventoryError, match=r"line 1: expected a MAC address, got '\$\(id\)'"):
        _source("printf", "%s\n", "$(id)").macs()


def test_missing_binary() -> None:
    """A program that does not exist is one clear line."""
    with pytest.raises(InventoryError) as info:
        _source("/nonexistent/virsh-export", "--all").macs()
    assert str(info.value) == (
        "inventory cmd: cannot run /nonexistent/virsh-export: No such file or directory"
    )


def test_nonzero_exit_shows_first_stderr_line() -> None:
    """A failed command's reason is its exit status and the first non-blank stderr line."""
    script = "printf '\\n   error: host down   \\nmore detail\\n' >&2; exit 2"
    with pytest.raises(InventoryError) as info:
        _source("sh", "-c", script).macs()
    assert str(info.value) == "inventory cmd: sh exited with status 2: error: host down"


def test_killed_by_signal() -> None:
    """A command killed by a signal says so."""
    with pytest.raises(InventoryError, match=r"sh killed by signal 9$"):
        _source("sh", "-c", "kill -9 $$").macs()


def test_timeout_kills_grandchildren(tmp_path: Path) -> None:
    """On timeout the whole process group dies, so a background child cannot hang the scan."""
    pidfile = tmp_path / "pid"
    script = f"sleep 60 & echo $! > {pidfile}; wait"
    started = time.monotonic()
    with pytest.raises(InventoryError, match=r"sh timed out after 0\.3s"):
        _source("sh", "-c", script, timeout=0.3).macs()
    assert time.monotonic() - started < 3
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 3
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead, awaiting its reaper


def test_a_large_listing_streams_in_whole_beside_a_chatty_stderr() -> None:
    """200,000 MACs are read as they come while 1 MB of stderr never stalls the command."""
    script = (
        "import sys\n"
        "sys.stderr.write('x' * (1 << 20))\n"
        "for n in range(200000):\n"
        "    print(':'.join(f'{b:02x}' for b in (0x52, 0x54, 0, n >> 16, n >> 8 & 255, n & 255)))\n"
    )
    macs = _source(sys.executable, "-c", script).macs()
    assert len(macs) == 200_000
    assert "52:54:00:03:0d:3f" in macs and "52:54:00:03:0d:40" not in macs


def test_a_bad_line_in_a_failed_command_reports_the_exit_status() -> None:
    """The exit status explains a garbled output better than its first bad line."""
    script = "echo 52:54:00:00:00:01; echo 'virsh: not connected'; echo boom >&2; exit 3"
    with pytest.raises(InventoryError) as info:
        _source("sh", "-c", script).macs()
    assert str(info.value) == "inventory cmd: sh exited with status 3: boom"


def test_a_bad_line_in_a_successful_command_names_its_line() -> None:
    """A command that succeeds with a bad line fails on that line, read to the end first."""
    script = "echo 52:54:00:00:00:01; echo oops; seq 1 100000 | sed 's/.*/52:54:00:00:00:02/'"
    with pytest.raises(InventoryError, match=r"output of sh line 2: expected a MAC address"):
        _source("sh", "-c", script).macs()
