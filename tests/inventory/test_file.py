"""The file adapter: the command adapter's format, read from a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from leasewatch.config import InventoryConfig
from leasewatch.errors import InventoryError
from leasewatch.inventory.file import FileSource


def _source(path: Path) -> FileSource:
    return FileSource(InventoryConfig(name="cmdb", kind="file", path=path, timeout=5.0))


def test_reads_every_spelling(tmp_path: Path) -> None:
    """Case, separators, comments, blank lines and duplicates are all handled."""
    path = tmp_path / "macs"
    path.write_text("52:54:00:AB:CD:EF\n52-54-00-ab-cd-ef\r\n\n# x\n5254.00ab.cd01\n")
    assert _source(path).macs() == {"52:54:00:ab:cd:ef", "52:54:00:ab:cd:01"}


def test_bad_line_names_file_and_line(tmp_path: Path) -> None:
    """A line that is not a MAC is reported with the file and the line number."""
    path = tmp_path / "macs"
    path.write_text("52:54:00:ab:cd:ef\n\nweb01 52:54:00:ab:cd:02\n")
    with pytest.raises(InventoryError) as info:
        _source(path).macs()
    assert str(info.value) == (
        f"inventory cmdb: {path} line 3: expected a MAC address, got 'web01 52:54:00:ab:cd:02'"
    )


def test_undecodable_bytes_are_a_bad_line(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 make a bad line, not a traceback."""
    path = tmp_path / "macs"
    path.write_bytes(b"52:54:00:ab:cd:ef\n\xff\xfe:00\n")
    with pytest.raises(InventoryError, match=r"line 2: expected a MAC address"):
        _source(path).macs()


def test_directory_is_unreadable(tmp_path: Path) -> None:
    """A path that cannot be read as a file says why."""
    with pytest.raises(InventoryError) as info:
        _source(tmp_path).macs()
    assert str(info.value) == f"inventory cmdb: cannot read {tmp_path}: Is a directory"
