"""Inventory from a command's output: one MAC per line (any case, ``:``/``-``/``.``)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

from leasewatch.config import InventoryConfig
from leasewatch.inventory._common import fail, one_line, parse_mac_lines
from leasewatch.inventory.interface import InventorySource


class CommandSource(InventorySource):
    """Runs an argv list (no shell) with a timeout and reads the MACs it prints."""

    def __init__(self, config: InventoryConfig) -> None:
        super().__init__(config.name, config.kind, config.networks)
        if not config.command:
            raise fail(config.name, "command is empty")
        self.argv = config.command
        self.timeout = config.timeout

    def macs(self) -> frozenset[str]:
        program = self.argv[0]
        try:
            # A session of its own so that a timeout kills the whole process group: killing
            # only the direct child would leave `sh -c '...; sleep'` grandchildren holding
            # the pipes open, and communicate() would wait for them forever.
            proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            raise fail(self.name, f"cannot run {program}: {exc.strerror}") from exc
        try:
            out, err = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired as exc:
            _kill_group(proc)
            raise fail(self.name, f"{program} timed out after {self.timeout:g}s") from exc
        if proc.returncode != 0:
            status = (
                f"killed by signal {-proc.returncode}"
                if proc.returncode < 0
                else f"exited with status {proc.returncode}"
            )
            first = _first_line(err)
            raise fail(self.name, f"{program} {status}" + (f": {first}" if first else ""))
        text = out.decode("utf-8", errors="replace")
        return parse_mac_lines(text.splitlines(), self.name, f"output of {program}")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def _first_line(data: bytes) -> str:
    for line in data.decode("utf-8", errors="replace").splitlines():
        if line.strip():
            return one_line(line, 160)
    return ""
