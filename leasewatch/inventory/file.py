"""Inventory from a file: one MAC per line, as the command source prints them."""

from __future__ import annotations

from pathlib import Path

from leasewatch.config import InventoryConfig
from leasewatch.inventory._common import fail, parse_mac_lines, with_deadline
from leasewatch.inventory.interface import InventorySource


class FileSource(InventorySource):
    """Reads MACs from a file written by another tool (a CMDB export, a cron job)."""

    def __init__(self, config: InventoryConfig) -> None:
        super().__init__(config.name, config.kind, config.networks)
        if config.path is None:
            raise fail(config.name, "path is missing")
        self.path: Path = config.path
        self.timeout = config.timeout

    def macs(self) -> frozenset[str]:
        # open() can block for ever on a hung network mount or a FIFO nobody writes to
        text = with_deadline(self.name, self.timeout, f"reading {self.path}", self._read)
        return parse_mac_lines(text.splitlines(), self.name, str(self.path))

    def _read(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise fail(self.name, f"cannot read {self.path}: {exc.strerror}") from exc
