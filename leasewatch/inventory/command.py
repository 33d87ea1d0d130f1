"""Inventory from a command's output: one MAC per line (any case, ``:``/``-``/``.``)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
from typing import IO

from leasewatch.config import InventoryConfig
from leasewatch.errors import InventoryError
from leasewatch.inventory._common import fail, one_line, read_macs
from leasewatch.inventory.interface import InventorySource
from leasewatch.macset import MacSet


class CommandSource(InventorySource):
    """Runs an argv list (no shell) with a timeout and reads the MACs it prints."""

    def __init__(self, config: InventoryConfig) -> None:
        super().__init__(config.name, config.kind, config.networks)
        if not config.command:
            raise fail(config.name, "command is empty")
        self.argv = config.command
        self.timeout = config.timeout

    def macs(self) -> MacSet:
        program = self.argv[0]
        # stderr goes to a file, not a pipe: the output is read line by line as it comes
        # (a 550,000-VM listing is never held whole), and a second pipe nobody drains
        # meanwhile could fill and stall the command.
        with tempfile.TemporaryFile() as err:
            try:
                # A session of its own so that a timeout kills the whole process group:
                # killing only the direct child would leave `sh -c '...; sleep'`
                # grandchildren holding the pipe open, and the read would wait for ever.
                proc = subprocess.Popen(
                    self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=err,
                    start_new_session=True,
                )
            except OSError as exc:
                raise fail(self.name, f"cannot run {program}: {exc.strerror}") from exc
            expired = threading.Event()
            timer = threading.Timer(self.timeout, _expire, (proc, expired))
            timer.daemon = True
            timer.start()
            bad: InventoryError | None = None
            found = MacSet()
            try:
                assert proc.stdout is not None  # stdout=PIPE
                try:
                    found = read_macs(proc.stdout, self.name, f"output of {program}")
                except InventoryError as exc:
                    bad = exc  # reported after the exit status, which explains it better
                    _drain(proc.stdout)
                proc.stdout.close()
                proc.wait()
            finally:
                timer.cancel()
            if expired.is_set():
                raise fail(self.name, f"{program} timed out after {self.timeout:g}s")
            if proc.returncode != 0:
                status = (
                    f"killed by signal {-proc.returncode}"
                    if proc.returncode < 0
                    else f"exited with status {proc.returncode}"
                )
                err.seek(0)
                first = _first_line(err.read())
                raise fail(self.name, f"{program} {status}" + (f": {first}" if first else ""))
            if bad is not None:
                raise bad
            return found


def _expire(proc: subprocess.Popen[bytes], expired: threading.Event) -> None:
    """The deadline passed: kill the whole group (the read then sees end of file)."""
    expired.set()
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(proc.pid, signal.SIGKILL)


def _drain(stream: IO[bytes]) -> None:
    """Read the rest of a bad output unparsed, so the command can finish and tell its status."""
    while stream.read(1 << 16):
        pass


def _first_line(data: bytes) -> str:
    for line in data.decode("utf-8", errors="replace").splitlines():
        if line.strip():
            return one_line(line, 160)
    return ""
