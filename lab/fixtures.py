"""pytest fixtures for the real-server lab, loaded as a plugin by tests/conftest.py."""

from __future__ import annotations

import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from lab.isc import IscLab
from lab.kea import KeaServer, running_kea
from lab.netns import CLEANUP


@pytest.fixture(scope="session", autouse=True)
def lab_backstop() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt (so fixtures unwind) and undo leftovers at the end."""

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        CLEANUP.run_all()


@pytest.fixture
def isc_lab() -> Iterator[IscLab]:
    """A real dhcpd (the seed's /27, 21-address pool, OMAPI) and an empty hypervisor."""
    lab = IscLab.start(pool_size=21)
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def small_isc_lab() -> Iterator[IscLab]:
    """The same lab with a 2-address pool, to run it dry quickly."""
    lab = IscLab.start(pool_size=2)
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short temporary directory: a UNIX socket path must fit in 107 bytes."""
    path = Path(tempfile.mkdtemp(prefix="lwkea-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def kea(short_tmp: Path) -> Iterator[KeaServer]:
    """A real kea-dhcp4 with lease_cmds and stat_cmds, serving no interface (API only)."""
    with running_kea(short_tmp / "kea") as server:
        yield server
