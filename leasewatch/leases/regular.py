"""Reading a configuration or leases file safely: a regular file, of bounded size.

dhcpd.conf and dhcpd.leases are read through these (``dhcpd_conf`` re-exports them).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from leasewatch.errors import LeasesError

_MAX_BYTES = 64 << 20  # a dhcpd.conf with 100,000 host blocks is about 10 MB
_KINDS = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFDIR: "a directory",
    stat.S_IFSOCK: "a socket",
}


def read_regular(path: Path, limit: int = _MAX_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, else one error line.

    Opened without blocking and checked before reading: a FIFO would block forever, a
    device such as /dev/zero never ends, and a symlink loop fails in ``open``.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise LeasesError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        check_regular(path, st)
    except LeasesError:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as f:
        if st.st_size > limit:
            raise LeasesError(f"{path}: expected at most {limit >> 20} MiB, got a larger file")
        try:
            data = f.read(limit + 1)
        except OSError as exc:
            raise LeasesError(f"{path}: cannot read: {exc.strerror}") from None
    if len(data) > limit:
        raise LeasesError(f"{path}: expected at most {limit >> 20} MiB, got a larger file")
    return data


def check_regular(path: Path, st: os.stat_result) -> None:
    """One error line unless ``st`` is a regular file's."""
    kind = stat.S_IFMT(st.st_mode)
    if kind != stat.S_IFREG:
        got = _KINDS.get(kind, "not a regular file")
        raise LeasesError(f"{path}: expected a regular file, got {got}")
