"""Inventory from a file: one MAC per line, as the command source prints them."""

from __future__ import annotations

from pathlib import Path

from leasewatch.config import InventoryConfig
from leasewatch.inventory._common import fail, read_macs, with_deadline
from leasewatch.inventory.interface import InventorySource
from leasewatch.macset import MacSet


class FileSource(InventorySource):
    """Reads MACs from a file written by another tool (a CMDB export, a cron job)."""

    def __init__(self, config: InventoryConfig) -> None:
        super().__init__(config.name, config.kind, config.networks)
        if config.path is None:
            raise fail(config.name, "path is missing")
        self.path: Path = config.path
        self.timeout = config.timeout

    def macs(self) -> MacSet:
        # open() can block for ever on a hung network mount or a FIFO nobody writes to
        return with_deadline(self.name, self.timeout, f"reading {self.path}", self._read)

    def _read(self) -> MacSet:
        try:
            with self.path.open("rb") as lines:  # streamed: never the whole text at once
                return read_macs(lines, self.name, str(self.path))
        except OSError as exc:
            raise fail(self.name, f"cannot read {self.path}: {exc.strerror}") from exc
